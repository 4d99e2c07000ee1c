"""Export: a manifest of what is live, so an existing estate can be adopted.

Planning against the exported manifest right away shows no changes: every index
attribute is written out, and policies become readable mappings.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import yaml

from reconciler.client import VectorsClient
from reconciler.errors import NotFoundError
from reconciler.state import policy_object
from reconciler.tasks import all_of

HEADER = "# yaml-language-server: $schema=../schemas/manifest.schema.json\n"


async def export_manifest(
    client: VectorsClient,
    *,
    buckets: Sequence[str] = (),
    prefix: str | None = None,
    region: str,
    account_id: str,
    parallelism: int = 10,
) -> dict[str, Any]:
    """The live buckets named (or all, or those with `prefix`) as a manifest document."""
    sem = asyncio.Semaphore(max(1, parallelism))

    async def bounded(coro: Any) -> Any:
        async with sem:
            return await coro

    names = set(buckets)
    if prefix is not None or not buckets:  # --bucket and --prefix together: both selections
        names |= {b.name for b in await client.all_vector_buckets(prefix=prefix)}

    async def one(name: str) -> dict[str, Any]:
        listing = await bounded(client.all_indexes(name))  # a missing bucket raises NotFoundError
        try:
            policy_text: str | None = await bounded(client.get_vector_bucket_policy(name))
        except NotFoundError:
            policy_text = None
        details = await all_of(*(bounded(client.get_index(name, i.name)) for i in listing))
        doc: dict[str, Any] = {"name": name}
        if policy_text is not None:
            parsed = policy_object(policy_text)
            doc["policy"] = policy_text if parsed is None else readable_policy(parsed)
        doc["indexes"] = [
            {
                "name": idx.name,
                "dimension": idx.dimension,
                "distanceMetric": idx.distance_metric,
                "dataType": idx.data_type,
                "nonFilterableMetadataKeys": sorted(idx.non_filterable_metadata_keys),
            }
            for idx in sorted(details, key=lambda i: i.name)
        ]
        return doc

    bucket_docs = await all_of(*(one(n) for n in sorted(names)))
    return {"version": 1, "account": account_id, "region": region, "buckets": list(bucket_docs)}


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
