"""Export: a manifest of what is live, so an existing estate can be adopted.

Planning against the exported manifest right away shows no changes: every index
attribute is written out, and policies become readable mappings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from reconciler.client.protocol import RefreshApi
from reconciler.state.model import LiveBucket, policy_object
from reconciler.state.refresh import read_buckets

HEADER = "# yaml-language-server: $schema=../schemas/manifest.schema.json\n"


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
        doc["policy"] = bucket.policy_text if parsed is None else readable_policy(parsed)
    # an index deleted between ListIndexes and GetIndex has no attributes: it is gone, so left out
    read = sorted((i.name, i.attrs) for i in bucket.indexes.values() if i.attrs is not None)  # names unique
    doc["indexes"] = [
        {
            "name": name,
            "dimension": attrs["dimension"],
            "distanceMetric": attrs["distanceMetric"],
            "dataType": attrs["dataType"],
            "nonFilterableMetadataKeys": attrs["nonFilterableMetadataKeys"],
        }
        for name, attrs in read
    ]
    return doc


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
        out["Statement"] = _keys_in_order(statements, _STATEMENT_KEYS)
    elif isinstance(statements, list):
        out["Statement"] = [_keys_in_order(s, _STATEMENT_KEYS) if isinstance(s, dict) else s for s in statements]
    return out


def to_yaml(manifest: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, default_flow_style=False)
