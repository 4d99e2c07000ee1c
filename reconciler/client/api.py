"""VectorsClient: one async method per TOS Vectors action, plus `all_*` pagination helpers.

Request bodies use the official SDK's keys and key order (README "Wire protocol" §3), so the same call
gives the same bytes and the same signature as `tos.vector_client.VectorClient`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.client import models
from reconciler.client.addressing import Endpoint, bucket_name_problem
from reconciler.client.clock import Clock, as_clock
from reconciler.client.credentials import Credentials
from reconciler.client.limits import AdaptiveRate, AimdLimiter, TokenBucket
from reconciler.client.models import (
    Index,
    IndexSummary,
    Page,
    QueryMatch,
    Vector,
    VectorBucket,
    VectorBucketSummary,
    VectorData,
)
from reconciler.client.retry import RetryPolicy, RetryStats
from reconciler.client.senders import open_sender
from reconciler.client.transport import USER_AGENT, Transport, one_line
from reconciler.client.wire import Reply, Sender
from reconciler.errors import ApiError, ConfigError

if TYPE_CHECKING:  # httpx loads only when a transport is injected or a proxy is set
    import httpx

T = TypeVar("T")

# The largest maxResults ListVectorBuckets and ListIndexes accept (the default is 100).
MAX_PAGE = 500
# How far a List* walk goes before the listing is taken as broken (an endpoint that hands
# out a new nextToken forever): pages, and items in all. An account holds at most 100
# buckets: one page of MAX_PAGE, or of the default 100 when maxResults is ignored. A
# bucket's indexes: 200 pages are 100,000 indexes at MAX_PAGE, 20,000 at the default.
# An index's vectors have no such bound in the service, and all_vectors holds them all in
# memory anyway: 100,000 pages (50 million vectors at the default page of 500).
WALK_LIMITS: dict[str, tuple[int, int]] = {
    "ListVectorBuckets": (20, 1_000),
    "ListIndexes": (200, 100_000),
    "ListVectors": (100_000, 50_000_000),
}


class VectorsClient:
    """Async client for TOS Vectors. Use as `async with VectorsClient(...) as client:`.

    `transport` is an httpx transport (e.g. MockTransport, ASGITransport) for tests; `sender`
    any wire.Sender (the embedded emulator's is a cli.inprocess.AsgiSender). Without either,
    requests go straight to the endpoint (direct.DirectSender), or through httpx when a
    proxy is configured. `clock` is a Clock, or a `() -> datetime` fixing the signing date.
    """

    def __init__(
        self,
        *,
        region: str = "cn-beijing",
        endpoint: str | None = None,
        account_id: str | None = None,
        credentials: Credentials | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sender: Sender | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        max_connections: int = 64,
        max_rps: float | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        user_agent: str | None = None,
    ):
        region = (region or "").strip()
        if not region:
            raise ConfigError("a region is required (e.g. cn-beijing)")
        if account_id is not None:
            account_id = str(account_id).strip() or None
        if account_id is not None and not account_id.isdigit():
            raise ConfigError(f"invalid account ID {account_id!r}: expected digits only")
        if timeout <= 0:
            raise ConfigError("timeout must be > 0")
        if max_connections < 1:
            raise ConfigError("max_connections must be >= 1")
        if max_rps is not None and max_rps <= 0:
            raise ConfigError("max_rps must be > 0")
        self._region = region
        self._account_id = account_id
        self._endpoint = Endpoint.parse(endpoint, region)
        self._credentials = credentials
        clk = as_clock(clock)
        ua = user_agent or USER_AGENT
        if sender is not None and transport is not None:
            raise ConfigError("pass a transport or a sender, not both")
        self._http = sender or open_sender(
            transport=transport, max_connections=max_connections, tls=self._endpoint.scheme == "https")
        self._transport = Transport(
            endpoint=self._endpoint,
            region=region,
            credentials=credentials,
            http=self._http,
            retry=retry or RetryPolicy(),
            clock=clk,
            limiter=AimdLimiter(max_connections),
            pacing=AdaptiveRate(clk),
            rate=TokenBucket(max_rps, clk) if max_rps is not None else None,
            rng=rng or random.Random(),
            timeout=timeout,
            user_agent=ua,
        )

    # --- lifecycle and target -------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The normalised endpoint URL, e.g. https://tosvectors-cn-beijing.volces.com."""
        return self._endpoint.url

    @property
    def region(self) -> str:
        return self._region

    @property
    def account_id(self) -> str | None:
        return self._account_id

    def __repr__(self) -> str:
        who = self._credentials.masked_access_key if self._credentials else None
        return (
            f"VectorsClient(endpoint={self.endpoint!r}, region={self._region!r}, "
            f"account_id={self._account_id!r}, access_key={who!r})"
        )

    @property
    def retry_stats(self) -> RetryStats:
        """Retries so far, by cause, and the time spent waiting between them."""
        return self._transport.retry_stats

    def service_time(self) -> datetime | None:
        """The service's time now, as its latest answer said it (the HTTP Date header, RFC
        7231) plus the time elapsed since on the monotonic clock; None before any answer or
        when that answer carried no readable Date (the embedded emulator sends none)."""
        t = self._transport.service_clock.now(self._transport.clock.monotonic())
        try:
            return None if t is None else datetime.fromtimestamp(t, UTC)
        except (OverflowError, OSError, ValueError):  # a date no datetime holds
            return None

    def local_time(self) -> datetime:
        """This machine's clock as the client reads it (the Clock it signs requests with)."""
        now = self._transport.clock.now()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> VectorsClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- plumbing -------------------------------------------------------------------

    async def _region_call(self, action: str, payload: dict[str, Any]) -> Reply:
        return await self._transport.call(action, payload)

    async def _bucket_call(self, action: str, bucket: str, payload: dict[str, Any]) -> Reply:
        _check_bucket(action, bucket)
        if self._account_id is None:
            raise ConfigError(
                f"{action} needs an account ID: pass account_id= (TOS_ACCOUNT_ID / --account-id)"
            )
        return await self._transport.call(action, payload, bucket=bucket, account_id=self._account_id)

    # --- vector buckets ------------------------------------------------------------

    async def create_vector_bucket(self, bucket: str) -> None:
        """CreateVectorBucket (sent to the region host)."""
        _check_bucket("CreateVectorBucket", bucket)
        await self._region_call("CreateVectorBucket", {"vectorBucketName": bucket})

    async def get_vector_bucket(self, bucket: str) -> VectorBucket:
        """GetVectorBucket."""
        action = "GetVectorBucket"
        reply = await self._bucket_call(action, bucket, {"vectorBucketName": bucket})
        return _parse(action, reply, lambda body: models.parse_vector_bucket(_wrapped(body, "vectorBucket"), bucket))

    async def list_vector_buckets(
        self, *, prefix: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> Page[VectorBucketSummary]:
        """ListVectorBuckets: one page (sent to the region host)."""
        payload: dict[str, Any] = {}
        _put(payload, "prefix", prefix)
        _put(payload, "nextToken", next_token)
        _put(payload, "maxResults", max_results)
        action = "ListVectorBuckets"
        return _parse(action, await self._region_call(action, payload), models.parse_bucket_page)

    async def all_vector_buckets(self, *, prefix: str | None = None) -> list[VectorBucketSummary]:
        """ListVectorBuckets, every page."""
        return await _walk("ListVectorBuckets", lambda token: self.list_vector_buckets(
            prefix=prefix, next_token=token, max_results=MAX_PAGE))

    async def delete_vector_bucket(self, bucket: str) -> None:
        """DeleteVectorBucket (the bucket must have no indexes)."""
        await self._bucket_call("DeleteVectorBucket", bucket, {"vectorBucketName": bucket})

    # --- bucket policy ---------------------------------------------------------------

    async def put_vector_bucket_policy(self, bucket: str, policy: str) -> None:
        """PutVectorBucketPolicy; `policy` is the policy document as a JSON string."""
        payload = {"vectorBucketName": bucket, "policy": policy}
        await self._bucket_call("PutVectorBucketPolicy", bucket, payload)

    async def get_vector_bucket_policy(self, bucket: str) -> str:
        """GetVectorBucketPolicy: the raw policy text; NotFoundError if the bucket has none."""
        action = "GetVectorBucketPolicy"
        response = await self._bucket_call(action, bucket, {"vectorBucketName": bucket})
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(action, response, f"the policy is not UTF-8 text ({exc.reason} at byte {exc.start})") \
                from None

    async def delete_vector_bucket_policy(self, bucket: str) -> None:
        """DeleteVectorBucketPolicy."""
        await self._bucket_call("DeleteVectorBucketPolicy", bucket, {"vectorBucketName": bucket})

    # --- indexes -----------------------------------------------------------------------

    async def create_index(
        self,
        bucket: str,
        index: str,
        *,
        dimension: int,
        distance_metric: str,
        data_type: str = "float32",
        non_filterable_metadata_keys: Sequence[str] | None = None,
    ) -> None:
        """CreateIndex. metadataConfiguration is sent only when keys are given (as the SDK)."""
        payload: dict[str, Any] = {
            "vectorBucketName": bucket,
            "indexName": index,
            "dataType": _enum(data_type),
            "dimension": dimension,
            "distanceMetric": _enum(distance_metric),
        }
        if non_filterable_metadata_keys is not None:
            payload["metadataConfiguration"] = {"nonFilterableMetadataKeys": list(non_filterable_metadata_keys)}
        await self._bucket_call("CreateIndex", bucket, payload)

    async def get_index(self, bucket: str, index: str) -> Index:
        """GetIndex."""
        action = "GetIndex"
        payload = {"indexName": index, "vectorBucketName": bucket}
        reply = await self._bucket_call(action, bucket, payload)
        return _parse(action, reply, lambda body: models.parse_index(_wrapped(body, "index"), bucket, index))

    async def list_indexes(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[IndexSummary]:
        """ListIndexes: one page."""
        payload: dict[str, Any] = {"vectorBucketName": bucket}
        _put(payload, "maxResults", max_results)
        _put(payload, "nextToken", next_token)
        _put(payload, "prefix", prefix)
        action = "ListIndexes"
        reply = await self._bucket_call(action, bucket, payload)
        return _parse(action, reply, lambda body: models.parse_index_page(body, bucket))

    async def all_indexes(self, bucket: str, *, prefix: str | None = None) -> list[IndexSummary]:
        """ListIndexes, every page (of the largest size, so 100 indexes take one call, not two)."""
        return await _walk("ListIndexes", lambda token: self.list_indexes(
            bucket, prefix=prefix, next_token=token, max_results=MAX_PAGE))

    async def delete_index(self, bucket: str, index: str) -> None:
        """DeleteIndex (destroys the index's vectors)."""
        await self._bucket_call("DeleteIndex", bucket, {"vectorBucketName": bucket, "indexName": index})

    # --- vectors ------------------------------------------------------------------------

    async def put_vectors(self, bucket: str, index: str, vectors: Sequence[Vector]) -> None:
        """PutVectors (existing keys are overwritten)."""
        items = []
        for vector in vectors:
            data = models.vector_data(vector.data)  # a Vector built with a list holds VectorData too
            item: dict[str, Any] = {"key": vector.key, "data": data.wire() if data is not None and data.values else {}}
            if vector.metadata:
                item["metadata"] = vector.metadata
            items.append(item)
        payload = {"indexName": index, "vectorBucketName": bucket, "vectors": items}
        await self._bucket_call("PutVectors", bucket, payload)

    async def get_vectors(
        self,
        bucket: str,
        index: str,
        keys: Sequence[str],
        *,
        return_data: bool = False,
        return_metadata: bool = False,
    ) -> list[Vector]:
        """GetVectors; missing keys are simply absent from the result."""
        payload = {
            "indexName": index,
            "keys": list(keys),
            "returnData": return_data,
            "returnMetadata": return_metadata,
            "vectorBucketName": bucket,
        }
        action = "GetVectors"
        return _parse(action, await self._bucket_call(action, bucket, payload), models.parse_vectors)

    async def delete_vectors(self, bucket: str, index: str, keys: Sequence[str]) -> None:
        """DeleteVectors."""
        payload = {"indexName": index, "keys": list(keys), "vectorBucketName": bucket}
        await self._bucket_call("DeleteVectors", bucket, payload)

    async def list_vectors(
        self,
        bucket: str,
        index: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
        return_data: bool = False,
        return_metadata: bool = False,
    ) -> Page[Vector]:
        """ListVectors: one page. False flags are left out, as the SDK does for its None default."""
        payload: dict[str, Any] = {"indexName": index, "vectorBucketName": bucket}
        _put(payload, "maxResults", max_results)
        _put(payload, "nextToken", next_token)
        _put(payload, "returnData", return_data or None)
        _put(payload, "returnMetadata", return_metadata or None)
        action = "ListVectors"
        return _parse(action, await self._bucket_call(action, bucket, payload), models.parse_vector_page)

    async def all_vectors(
        self, bucket: str, index: str, *, return_data: bool = False, return_metadata: bool = False
    ) -> list[Vector]:
        """ListVectors, every page."""
        return await _walk(
            "ListVectors",
            lambda token: self.list_vectors(
                bucket, index, next_token=token, return_data=return_data, return_metadata=return_metadata
            ),
        )

    async def query_vectors(
        self,
        bucket: str,
        index: str,
        query: Sequence[float] | VectorData,
        *,
        top_k: int = 10,
        filter: dict[str, Any] | None = None,
        return_distance: bool = False,
        return_metadata: bool = False,
    ) -> list[QueryMatch]:
        """QueryVectors: nearest first. `query` is float32 values, or a VectorData (int8 for
        an int8 index). An empty `filter` is not sent (as the SDK)."""
        data = models.vector_data(query)
        query_vector: dict[str, Any] = data.wire() if data is not None and data.values else {}
        payload: dict[str, Any] = {
            "vectorBucketName": bucket,
            "indexName": index,
            "returnDistance": return_distance,
            "returnMetadata": return_metadata,
            "topK": top_k,
            "queryVector": query_vector,
        }
        if filter:
            payload["filter"] = filter
        action = "QueryVectors"
        return _parse(action, await self._bucket_call(action, bucket, payload), models.parse_matches)


# --- helpers ---------------------------------------------------------------------------


def _check_bucket(action: str, bucket: str) -> None:
    problem = bucket_name_problem(bucket)
    if problem:
        # attempts=0: refused before anything was sent (the name would become a host name).
        raise ApiError(action, problem, attempts=0)


def _put(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        payload[key] = value


def _enum(value: Any) -> Any:
    """Accept plain strings or the SDK's enums (DataType.DataTypeFloat32 -> 'float32')."""
    return getattr(value, "value", value)


def _parse(action: str, response: Reply, parse: Callable[[dict[str, Any]], T]) -> T:
    """The answer's JSON object through `parse`; ApiError (action, what, request id) when
    it is not JSON, not an object, or not of the action's shape (models.Malformed)."""
    try:
        body = models.loads(response.content)
    except models.Malformed as exc:
        if response.content.lstrip()[:1] in (b"{", b"["):
            raise _malformed(action, response, str(exc)) from None
        body = None  # not JSON at all: show what came (an HTML error page, a proxy's text)
    if not isinstance(body, dict):
        text = one_line(response.content[:1000].decode("utf-8", errors="replace"), 120) or "<empty>"
        raise ApiError(action, f"expected a JSON object in the response{_rid(response)}, got: {text}")
    try:
        return parse(body)
    except models.Malformed as exc:
        raise _malformed(action, response, str(exc)) from None


def _malformed(action: str, response: Reply, what: str) -> ApiError:
    return ApiError(action, f"malformed response: {what}{_rid(response)}")


def _rid(response: Reply) -> str:
    rid = one_line(response.headers.get("x-tos-request-id", ""), 80)
    return f" (request id {rid})" if rid else ""


def _wrapped(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    inner = body.get(key)
    if not isinstance(inner, Mapping):
        raise models.Malformed(f"the response has no {key!r} object")
    return inner


async def _walk(action: str, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> list[T]:
    """Every page, until one has no nextToken; ApiError when a token repeats or the walk
    passes its WALK_LIMITS."""
    max_pages, max_items = WALK_LIMITS[action]
    items: list[T] = []
    token: str | None = None
    seen: set[int] = set()  # the tokens' hashes: a token may be 2 KB, and there may be many
    pages = 0
    while pages < max_pages:
        pages += 1
        page = await fetch(token)
        items.extend(page.items)
        if not page.next_token:
            return items
        if hash(page.next_token) in seen:
            raise ApiError(action, f"pagination did not advance (nextToken {one_line(page.next_token, 80)!r} repeated)")
        if len(items) > max_items:
            break
        seen.add(hash(page.next_token))
        token = page.next_token
    raise ApiError(action, f"the listing did not end: {len(items):,} items in {pages:,} pages and still "
                           f"a new nextToken (at most {max_pages:,} pages or {max_items:,} items are read)")
