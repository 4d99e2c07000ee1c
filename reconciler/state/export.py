"""Export: a manifest of what is live, so an existing estate can be adopted.

Planning against the exported manifest right away shows no changes: every index
attribute is written out, and policies become readable mappings. What the service holds
but the manifest format spells one way only is written that way when the plan's policy
comparison holds the two equal (an Effect of "deny" is written "Deny"), so the file
validates as well as plans clean.

The file carries no `$schema` modeline: export writes to stdout and cannot know where the
file will live, so a relative path would be wrong in any repository but ours, and the
schema's `$id` is a URN, not a URL an editor could fetch (README.md, "Manifest reference", Editors). It does carry
the ownership scope of what it exported, commented out: a prune scope grants deletion, and
turning that on is the adopter's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from reconciler.client.protocol import RefreshApi
from reconciler.state.model import LiveBucket, policy_object
from reconciler.state.refresh import read_buckets

HEADER = "# Exported by `reconciler export` from the live state: `reconciler plan -f` on this file shows no changes.\n"
PRUNE_NOTE = ("# Ownership scope, off: uncommented, apply deletes any of these buckets whose block is removed\n"
              "# (with its indexes and policy). A prune scope grants deletion; turn it on deliberately.\n")


async def export_manifest(
    client: RefreshApi,
    *,
    buckets: Sequence[str] = (),
    prefix: str | None = None,
    region: str,
    account_id: str,
    parallelism: int = 10,
) -> dict[str, Any]:
    """The live buckets named (or all, or those with `prefix`) as a manifest document.
    The reads are state/refresh.py's (one refresh path); this module only writes them out."""
    # --bucket and --prefix together: both selections
    state = await read_buckets(client, buckets, prefix=prefix, list_account=prefix is not None or not buckets,
                               parallelism=parallelism)
    bucket_docs = [_bucket_doc(state.buckets[name]) for name in sorted(state.buckets)]
    return {"version": 1, "account": account_id, "region": region, "buckets": bucket_docs}


def _bucket_doc(bucket: LiveBucket) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": bucket.name}
    if bucket.policy_text is not None:
        parsed = policy_object(bucket.policy_text)
        doc["policy"] = literal(bucket.policy_text if parsed is None else readable_policy(parsed))
    # an index deleted between ListIndexes and GetIndex has no attributes: it is gone, so left out
    read = sorted((i.name, i.attrs) for i in bucket.indexes.values() if i.attrs is not None)  # names unique
    doc["indexes"] = [
        {
            "name": name,
            "dimension": attrs["dimension"],
            "distanceMetric": attrs["distanceMetric"],
            "dataType": attrs["dataType"],
            "nonFilterableMetadataKeys": literal(attrs["nonFilterableMetadataKeys"]),
        }
        for name, attrs in read
    ]
    return doc


def literal(value: Any) -> Any:
    """`value` with each `${` in its strings written `$${`, which a manifest reads back as
    `${`. The service's strings are data: a policy someone planted with `${GITHUB_TOKEN}`
    must not become a reference that the job applying the adopted file fills in (and sends
    to the service for the planter to read back)."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [literal(v) for v in value]
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}  # keys are not interpolated
    return value


_POLICY_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
                   "Condition")


def _keys_in_order(doc: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    return {**{k: doc[k] for k in order if k in doc}, **{k: v for k, v in doc.items() if k not in order}}


def readable_policy(doc: dict[str, Any]) -> dict[str, Any]:
    """The live document with its keys in the usual order (Version, Statement; Sid, Effect,
    Principal, Action, Resource, Condition), so equal policies export alike however they
    were written. Values are kept as they are."""
    out = _keys_in_order(doc, _POLICY_KEYS)
    statements = out.get("Statement")
    if isinstance(statements, dict):
        out["Statement"] = _statement(statements)
    elif isinstance(statements, list):
        out["Statement"] = [_statement(s) if isinstance(s, dict) else s for s in statements]
    return out


def _statement(statement: dict[str, Any]) -> dict[str, Any]:
    out = _keys_in_order(statement, _STATEMENT_KEYS)
    effect = out.get("Effect")
    # rules/policy.py compares Effect case- and space-insensitively, so " deny" on the service
    # plans equal to "Deny" in the file, which the manifest schema (Allow | Deny) accepts
    if isinstance(effect, str) and effect.strip().lower() in ("allow", "deny"):
        out["Effect"] = effect.strip().capitalize()
    return out


def _dump(value: dict[str, Any]) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)


def to_yaml(manifest: dict[str, Any]) -> str:
    head = {k: v for k, v in manifest.items() if k != "buckets"}
    buckets = manifest.get("buckets", [])
    names = [b["name"] for b in buckets if isinstance(b, dict) and isinstance(b.get("name"), str)]
    scope = ""
    if names:  # every line a comment, however a name is spelled: yaml quotes what needs it
        scope = PRUNE_NOTE + "".join(f"# {line}\n" for line in _dump({"prune": {"buckets": names}}).splitlines())
    return HEADER + _dump(head) + scope + _dump({"buckets": buckets})
