"""Async client for Volcengine TOS Vectors, wire-compatible with the official Python SDK.

    async with VectorsClient(account_id="2100000000", credentials=Credentials.from_env()) as c:
        await c.create_vector_bucket("rag-prod")
        for b in await c.all_vector_buckets():
            ...

Modules: signing (TOS4-HMAC-SHA256), addressing (hosts), transport (send, retry, errors,
logging), limits (AIMD concurrency, adaptive pace, rate cap), retry (policy), clock (time
seam), models (results, and reading answers within limits: nesting, numbers, field types),
api (VectorsClient, bounded List walks). Requests travel through a sender (wire: Reply,
the failures and the limits an answer is held to), which senders.open_sender picks: direct
(HTTP/1.1 on asyncio + httptools, the default), pool (httpx, for proxies and injected
transports) or any other `wire.Sender` (the CLI's `cli.inprocess` calls the embedded
emulator in-process). Errors come from reconciler.errors.

Owns: the wire protocol as the official SDKs speak it (README "Wire protocol": hosts §1, signing
§2, bodies and answers §3, errors §4, the decisions of §0), retries, limits, senders and
the typed results. May import: rules (names and limits), errors. Usable on
its own: it knows nothing of manifests, plans or the emulator.
"""

from reconciler.client.api import VectorsClient
from reconciler.client.credentials import Credentials
from reconciler.client.models import (
    DataType,
    Index,
    IndexSummary,
    Page,
    QueryMatch,
    Vector,
    VectorBucket,
    VectorBucketSummary,
    VectorData,
)
from reconciler.client.retry import RetryPolicy

__all__ = [
    "Credentials",
    "DataType",
    "Index",
    "IndexSummary",
    "Page",
    "QueryMatch",
    "RetryPolicy",
    "Vector",
    "VectorBucket",
    "VectorBucketSummary",
    "VectorData",
    "VectorsClient",
]
