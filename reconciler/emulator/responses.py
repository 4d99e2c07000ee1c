"""One handler per action: check a parsed request against state, act, shape the answer.

Handlers take the validated request of validation.py and return the JSON document of the
success response (README "Wire protocol" §3), or `bytes` for GetVectorBucketPolicy, whose body is the
stored policy text itself. Lists are always present ([]), never null, because the Python
SDK crashes on null; optional fields (`nextToken`, `distance`, `metadata`, `data`) are
left out rather than sent as null.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reconciler.emulator import validation as v
from reconciler.emulator.errors import ValidationException
from reconciler.emulator.filters import check_filterable
from reconciler.emulator.search import VectorSearch
from reconciler.emulator.store import BucketRow, IndexRow, Store, VectorRow

# what a handler gives the app: a JSON object to encode, or raw bytes (a policy document);
# not the client's wire.Reply, which is a whole HTTP response
Answer = dict[str, Any] | bytes
PROJECT_NAME = "default"
LIST_VECTORS_PAGE_BYTES = 1 << 20  # the reference: a ListVectors page stops at about 1 MB


class TokenCodec:
    """Opaque page tokens: base64 of the last name/key returned (the reference's own examples).

    A token must fit the request limit (512, or 2048 for ListVectors). A key too long for
    that (over ~1.5 KB of UTF-8) gets a short token remembered in memory instead, so such
    a token does not survive a restart: the client then gets a 400 and starts over.
    """

    _REMEMBERED = 10_000

    def __init__(self) -> None:
        self._long: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, last: str, max_len: int) -> str:
        token = base64.b64encode(last.encode("utf-8")).decode("ascii")
        if len(token) <= max_len:
            return token
        token = "~" + hashlib.sha256(last.encode("utf-8")).hexdigest()[:40]
        with self._lock:
            self._long[token] = last
            while len(self._long) > self._REMEMBERED:
                self._long.popitem(last=False)
        return token

    def decode(self, token: str | None) -> str | None:
        if token is None:
            return None
        if token.startswith("~"):
            with self._lock:
                last = self._long.get(token)
            if last is None:
                raise ValidationException("nextToken has expired or is not a token this service issued")
            return last
        try:
            return base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8")
        except (ValueError, binascii.Error, UnicodeError):
            raise ValidationException("nextToken is not a valid pagination token") from None


@dataclass
class Context:
    """What a handler needs beyond its request: state, and who/where the caller is."""

    store: Store
    search: VectorSearch
    account: str
    region: str
    clock: Callable[[], float] = time.time
    tokens: TokenCodec = field(default_factory=TokenCodec)
    reads_data: bool = True  # False: a --user without tosvectors:GetVectors (policy_auth.authorize)

    def now(self) -> int:
        return int(self.clock())

    def bucket_trn(self, bucket: str) -> str:
        return f"trn:tosvectors:{self.region}:{self.account}:bucket/{bucket}"

    def index_trn(self, bucket: str, index: str) -> str:
        return f"{self.bucket_trn(bucket)}/index/{index}"


# --- shapes ---------------------------------------------------------------------------------


def _bucket_summary(ctx: Context, row: BucketRow) -> dict[str, Any]:
    return {"creationTime": row.creation_time, "vectorBucketName": row.name,
            "vectorBucketTrn": ctx.bucket_trn(row.name), "projectName": PROJECT_NAME}


def _index_summary(ctx: Context, row: IndexRow) -> dict[str, Any]:
    return {"creationTime": row.creation_time, "indexName": row.name,
            "indexTrn": ctx.index_trn(row.bucket, row.name), "vectorBucketName": row.bucket}


def float32_json(values: np.ndarray) -> list[float]:
    """float32 values as the shortest decimals that read back as the same float32 (0.1 goes
    out as 0.1, not 0.10000000149011612), vectorised: `str()` per value costs ~1 us, which
    is 8 ms for the data of ten 768-dimension hits. For each precision p = 1..9 significant
    digits, round every value not yet done to p digits and keep those that round-trip; nine
    digits always do. Scaling by 10**k rounds once, to the nearest double of the decimal,
    only while 10**k is exact (k <= 22); values beyond that (below 1e-13 or from 1e22 up)
    take the slow `str()`."""
    x = np.asarray(values, dtype=np.float32)
    x64 = x.astype(np.float64)
    out = x64.copy()
    pending = np.isfinite(x64) & (x64 != 0)
    if not pending.any():
        return list(out.tolist())
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = np.floor(np.log10(np.abs(np.where(pending, x64, 1.0))))
        slow = np.flatnonzero(pending & ((exponent < -13) | (exponent > 21)))
        out[slow] = [float(str(v)) for v in x[slow]]
        pending[slow] = False
        for digits in range(1, 10):
            places = digits - 1 - exponent  # decimal places that keep `digits` significant ones
            up = places >= 0
            scale = 10.0 ** np.abs(places)  # exact: |places| <= 21 here
            rounded = np.where(up, np.round(x64 * scale) / scale, np.round(x64 / scale) * scale)
            hit = pending & (rounded.astype(np.float32) == x)
            out[hit] = rounded[hit]
            pending &= ~hit
            if not pending.any():
                break
    return list(out.tolist())


def _vectors_out(rows: Sequence[VectorRow], data_type: str) -> list[dict[str, Any]]:
    """The JSON of stored vectors, their data converted in one numpy pass for all of them
    (per call, float32_json's few dozen numpy operations would cost more than the values)."""
    blobs = [row.data for row in rows if row.data is not None]
    values: list[Any] = []
    if blobs and data_type == "int8":
        values = np.frombuffer(b"".join(blobs), dtype="i1").tolist()
    elif blobs:
        values = float32_json(np.frombuffer(b"".join(blobs), dtype="<f4"))
    width = len(values) // len(blobs) if blobs else 0  # every vector of an index has its dimension
    out: list[dict[str, Any]] = []
    position = 0
    for row in rows:
        item: dict[str, Any] = {"key": row.key}
        if row.data is not None:
            item["data"] = {data_type: values[position:position + width]}
            position += width
        if row.metadata is not None:
            item["metadata"] = row.metadata
        out.append(item)
    return out


def _page(items: list[Any], limit: int, last: Callable[[Any], str], ctx: Context, max_len: int
          ) -> dict[str, Any]:
    # a token whenever a page is full, as the live service did ([PY-T]); none on a short page
    return {"nextToken": ctx.tokens.encode(last(items[-1]), max_len)} if items and len(items) >= limit else {}


def _check_vector(index: IndexRow, data: v.VectorValues) -> None:
    """A vector (PutVectors) or query (QueryVectors) against its index: the data type, the
    dimension, and for cosine a non-zero norm (a zero vector has no direction)."""
    if data.data_type != index.data_type:
        raise ValidationException(
            f"{data.field} is {data.data_type} data but index {index.name!r} has dataType {index.data_type}: "
            f"send {data.field.rpartition('.')[0]}.{index.data_type}")
    if data.size != index.dimension:
        raise ValidationException(
            f"{data.field} has {data.size} dimensions but index {index.name!r} has dimension {index.dimension}")
    if index.distance_metric == "cosine" and not data.values.any():
        raise ValidationException(f"{data.field} must not be a zero vector: index {index.name!r} uses cosine distance")


# --- bucket actions -------------------------------------------------------------------------


def create_vector_bucket(ctx: Context, req: v.BucketRequest) -> Answer:
    """CreateVectorBucket: in the caller's account (the region endpoint's)."""
    ctx.store.create_bucket(ctx.account, req.bucket, ctx.now())
    return {}


def get_vector_bucket(ctx: Context, req: v.BucketRequest) -> Answer:
    """GetVectorBucket."""
    return {"vectorBucket": _bucket_summary(ctx, ctx.store.get_bucket(ctx.account, req.bucket))}


def list_vector_buckets(ctx: Context, req: v.ListBucketsRequest) -> Answer:
    """ListVectorBuckets: by name, after the token's name, optionally by prefix."""
    after = ctx.tokens.decode(req.next_token)
    rows = ctx.store.list_buckets(ctx.account, req.prefix, after, req.max_results)
    return {"vectorBuckets": [_bucket_summary(ctx, r) for r in rows],
            **_page(rows, req.max_results, lambda r: r.name, ctx, 512)}


def delete_vector_bucket(ctx: Context, req: v.BucketRequest) -> Answer:
    """DeleteVectorBucket: only once its indexes are gone (409 otherwise)."""
    ctx.store.delete_bucket(ctx.account, req.bucket)
    return {}


def put_vector_bucket_policy(ctx: Context, req: v.PutPolicyRequest) -> Answer:
    """PutVectorBucketPolicy: replaces the policy, text kept as sent."""
    ctx.store.put_policy(ctx.account, req.bucket, req.policy)
    return {}


def get_vector_bucket_policy(ctx: Context, req: v.BucketRequest) -> Answer:
    """GetVectorBucketPolicy: the body is the stored policy text itself."""
    return ctx.store.get_policy(ctx.account, req.bucket).encode("utf-8")


def delete_vector_bucket_policy(ctx: Context, req: v.BucketRequest) -> Answer:
    """DeleteVectorBucketPolicy."""
    ctx.store.delete_policy(ctx.account, req.bucket)
    return {}


# --- index actions --------------------------------------------------------------------------


def create_index(ctx: Context, req: v.CreateIndexRequest) -> Answer:
    """CreateIndex."""
    ctx.store.create_index(ctx.account, req.bucket, req.index, data_type=req.data_type,
                           dimension=req.dimension, distance_metric=req.distance_metric,
                           non_filterable=req.non_filterable_keys, now=ctx.now())
    return {}


def get_index(ctx: Context, req: v.IndexRequest) -> Answer:
    """GetIndex: the summary plus dataType, dimension, metric and metadata configuration."""
    row = ctx.store.get_index(ctx.account, req.bucket, req.index)
    return {"index": {
        **_index_summary(ctx, row),
        "dataType": row.data_type,
        "dimension": row.dimension,
        "distanceMetric": row.distance_metric,
        "metadataConfiguration": {"nonFilterableMetadataKeys": list(row.non_filterable)},
    }}


def list_indexes(ctx: Context, req: v.ListIndexesRequest) -> Answer:
    """ListIndexes: by name, after the token's name, optionally by prefix."""
    after = ctx.tokens.decode(req.next_token)
    rows = ctx.store.list_indexes(ctx.account, req.bucket, req.prefix, after, req.max_results)
    return {"indexes": [_index_summary(ctx, r) for r in rows],
            **_page(rows, req.max_results, lambda r: r.name, ctx, 512)}


def delete_index(ctx: Context, req: v.IndexRequest) -> Answer:
    """DeleteIndex, with its vectors."""
    row = ctx.store.get_index(ctx.account, req.bucket, req.index)
    ctx.store.delete_index(ctx.account, req.bucket, req.index)
    ctx.search.forget(row.id)
    return {}


# --- vector actions -------------------------------------------------------------------------


def put_vectors(ctx: Context, req: v.PutVectorsRequest) -> Answer:
    """PutVectors: every vector checked against the index first, then one transaction."""
    index = ctx.store.get_index(ctx.account, req.bucket, req.index)
    for item in req.vectors:
        _check_vector(index, item.data)
    ctx.store.put_vectors(index, [(x.key, x.data.to_bytes(), x.metadata) for x in req.vectors])
    return {}


def get_vectors(ctx: Context, req: v.KeysRequest) -> Answer:
    """GetVectors: found keys in request order; missing keys are left out ([PY-T])."""
    index = ctx.store.get_index(ctx.account, req.bucket, req.index)
    found = ctx.store.get_vectors(index, req.keys, data=req.return_data, metadata=req.return_metadata)
    # each key once, even if the request repeats it
    return {"vectors": _vectors_out([found[k] for k in dict.fromkeys(req.keys) if k in found], index.data_type)}


def delete_vectors(ctx: Context, req: v.KeysRequest) -> Answer:
    """DeleteVectors: missing keys are ignored."""
    index = ctx.store.get_index(ctx.account, req.bucket, req.index)
    ctx.store.delete_vectors(index, req.keys)
    return {}


def list_vectors(ctx: Context, req: v.ListVectorsRequest) -> Answer:
    """ListVectors: by key; a page also stops at about 1 MB (the reference)."""
    index = ctx.store.get_index(ctx.account, req.bucket, req.index)
    after = ctx.tokens.decode(req.next_token)
    rows = ctx.store.list_vectors(index, after, req.max_results, data=req.return_data,
                                  metadata=req.return_metadata)
    per_value = 12 if index.data_type == "float32" else 4  # JSON characters of one value, roughly
    value_bytes = 4 if index.data_type == "float32" else 1
    size, fits = 0, 0
    for row in rows:
        if size >= LIST_VECTORS_PAGE_BYTES:  # page cut short at ~1 MB: the token says "more"
            break
        fits += 1
        size += (len(row.key) + per_value * (len(row.data) // value_bytes if row.data else 0)
                 + len(str(row.metadata or "")))
    out = _vectors_out(rows[:fits], index.data_type)
    if fits < len(rows):
        return {"vectors": out, "nextToken": ctx.tokens.encode(out[-1]["key"], 2048)}
    return {"vectors": out, **_page(out, req.max_results, lambda r: r["key"], ctx, 2048)}


def query_vectors(ctx: Context, req: v.QueryRequest) -> Answer:
    """QueryVectors: exact top-K after the filter. Hits carry their `data` (unless the caller
    may not read vectors); distance and metadata only when asked; no match at all answers
    without a `vectors` key (README "Wire protocol" §0)."""
    index = ctx.store.get_index(ctx.account, req.bucket, req.index)
    _check_vector(index, req.vector)
    if req.filter is not None:
        check_filterable(req.filter, index.non_filterable)
    hits = ctx.search.query(index, req.vector.values, req.top_k, req.filter)
    if not hits:
        return {}
    # one lookup per hit; a hit deleted since the search is left out, like GetVectors does;
    # a caller who may not read vectors (GetVectors) gets keys and distances only
    rows = ctx.store.get_vectors(index, [k for k, _ in hits], data=ctx.reads_data, metadata=req.return_metadata)
    found = [(rows[key], distance) for key, distance in hits if key in rows]
    out = _vectors_out([row for row, _ in found], index.data_type)
    if req.return_distance:
        for item, (_, distance) in zip(out, found, strict=True):
            item["distance"] = distance
    return {"vectors": out} if out else {}
