"""Our signer against README "Wire protocol" §2's worked vectors and against the official SDK (tos 2.9.3).

The SDK's requests are captured by a requests adapter that answers locally and sends
nothing; ours by an httpx MockTransport. Same inputs and date -> same Host, body bytes and
Authorization header, for every action, with and without an STS token, on the region host
and bucket hosts, and with IP / localhost endpoints (where we connect directly but sign
the same virtual Host).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from tos.enum import DataType, DistanceMetricType  # noqa: E402
from tos.models2 import GenericInput, VectorData  # noqa: E402
from tos.models2 import Vector as SdkVector  # noqa: E402
from tos.vector_client import VectorClient  # noqa: E402

from reconciler.client import Credentials, Vector, VectorsClient, signing

AK = "AKLTexampleAccessKey"
SK = "exampleSecretKey"
TOKEN = "STS-TOKEN-XYZ"
ACCOUNT = "2100000001"
DATE = datetime(2025, 1, 2, 3, 4, 5)
PROD = "https://tosvectors-cn-beijing.volces.com"

# One body every action can parse, for both clients.
REPLY = json.dumps({
    "vectorBucket": {"creationTime": 1, "vectorBucketName": "my-bucket", "vectorBucketTrn": "t"},
    "index": {"creationTime": 1, "indexName": "my-index", "dataType": "float32", "dimension": 3,
              "distanceMetric": "cosine", "metadataConfiguration": {"nonFilterableMetadataKeys": []}},
    "vectorBuckets": [], "indexes": [], "vectors": [],
}).encode()


# --- the worked vectors of README "Wire protocol" §2 --------------------------------------------------


def ours(
    call: Callable[[VectorsClient], Any],
    *,
    endpoint: str | None = PROD,
    region: str = "cn-beijing",
    token: str | None = None,
    anonymous: bool = False,
) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=REPLY)

    async def run() -> None:
        creds = None if anonymous else Credentials(AK, SK, token)
        async with VectorsClient(region=region, endpoint=endpoint, account_id=ACCOUNT, credentials=creds,
                                 transport=httpx.MockTransport(handler), clock=lambda: DATE) as client:
            await call(client)

    asyncio.run(run())
    (request,) = seen
    return request


def test_wire_vector_get_index():
    req = ours(lambda c: c.get_index("my-bucket", "my-index"))
    assert str(req.url) == "https://my-bucket-2100000001.tosvectors-cn-beijing.volces.com/GetIndex"
    assert req.headers["Host"] == "my-bucket-2100000001.tosvectors-cn-beijing.volces.com"
    assert req.headers["Date"] == req.headers["x-tos-date"] == "20250102T030405Z"
    assert req.headers["Authorization"] == (
        "TOS4-HMAC-SHA256 Credential=AKLTexampleAccessKey/20250102/cn-beijing/tosvectors/request, "
        "SignedHeaders=host;x-tos-content-sha256;x-tos-date, "
        "Signature=453a0bc5c6f2524191cc9ca1b813088d4b4f80ab17fce02638f3ac9ac7550657"
    )
    assert req.headers["Content-Length"] == "58"
    assert req.content == b'{"indexName": "my-index", "vectorBucketName": "my-bucket"}'


def test_wire_vector_create_vector_bucket():
    req = ours(lambda c: c.create_vector_bucket("my-bucket"))
    assert req.headers["Host"] == "tosvectors-cn-beijing.volces.com"
    assert req.content == b'{"vectorBucketName": "my-bucket"}'
    assert req.headers["Authorization"].endswith(
        "Signature=82bd6a226bc978753a793b0ff21bbe571c228ab0881a7851190ea1c58042e553"
    )


def test_wire_vector_get_index_with_sts_token():
    req = ours(lambda c: c.get_index("my-bucket", "my-index"), token=TOKEN)
    assert req.headers["x-tos-security-token"] == TOKEN
    assert req.headers["Authorization"] == (
        "TOS4-HMAC-SHA256 Credential=AKLTexampleAccessKey/20250102/cn-beijing/tosvectors/request, "
        "SignedHeaders=host;x-tos-content-sha256;x-tos-date;x-tos-security-token, "
        "Signature=33560a012a0fdf902774fa13adb72dfcfcfee3f73df1fa16327af57f98002053"
    )


def test_wire_canonical_request_and_string_to_sign():
    headers = {
        "x-tos-content-sha256": "UNSIGNED-PAYLOAD",
        "Host": "my-bucket-2100000001.tosvectors-cn-beijing.volces.com",
        "Date": "20250102T030405Z",
        "x-tos-date": "20250102T030405Z",
        "User-Agent": "not signed",
    }
    canonical = signing.canonical_request("POST", "/GetIndex", headers)
    assert canonical == (
        "POST\n/GetIndex\n\n"
        "host:my-bucket-2100000001.tosvectors-cn-beijing.volces.com\n"
        "x-tos-content-sha256:UNSIGNED-PAYLOAD\n"
        "x-tos-date:20250102T030405Z\n\n"
        "host;x-tos-content-sha256;x-tos-date\n"
        "UNSIGNED-PAYLOAD"
    )
    assert signing.string_to_sign("20250102T030405Z", "cn-beijing", canonical) == (
        "TOS4-HMAC-SHA256\n20250102T030405Z\n20250102/cn-beijing/tosvectors/request\n"
        "9850cdc7d9191094dcfc6cd368cd62a3dee44485be30c67cf2f2ed3d702be3f2"
    )


def test_wire_vector_go_style_for_verifiers():
    """A verifier's path: signed names from the Authorization header, and the empty-payload
    hash when x-tos-content-sha256 is absent (the Go SDK)."""
    headers = {"Host": "my-bucket-2100000001.tosvectors-cn-beijing.volces.com", "X-Tos-Date": "20250102T030405Z"}
    canonical = signing.canonical_request(
        "POST", "/GetIndex", headers, signed_names=["host", "x-tos-date"], payload_hash=signing.EMPTY_SHA256
    )
    sig = signing.signature(SK, "20250102T030405Z", "cn-beijing", canonical)
    assert sig == "c8bb6d1e85e363726ab07d622ea22b1fcc1faedc45e15aac44d32e2b40631a4f"


def test_format_date_converts_to_utc():
    east8 = timezone(timedelta(hours=8))
    assert signing.format_date(datetime(2025, 1, 2, 11, 4, 5, tzinfo=east8)) == "20250102T030405Z"
    assert signing.format_date(DATE) == "20250102T030405Z"


def test_anonymous_client_sends_no_signature():
    req = ours(lambda c: c.list_vector_buckets(), anonymous=True)
    assert "Authorization" not in req.headers and "x-tos-date" not in req.headers and "Date" not in req.headers
    assert req.headers["x-tos-content-sha256"] == "UNSIGNED-PAYLOAD"


# --- against the official SDK --------------------------------------------------------------


class CaptureAdapter(HTTPAdapter):
    """Captures the SDK's prepared request and answers it locally; nothing is sent."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.captured: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.captured.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers = CaseInsensitiveDict({"Content-Length": str(len(REPLY)), "x-tos-request-id": "r"})
        response._content = REPLY
        response._content_consumed = True
        response.raw = io.BytesIO(REPLY)
        response.request = request
        response.url = request.url
        return response


def sdk(call: Callable[[VectorClient, GenericInput], Any], *, endpoint: str, region: str,
        token: str | None) -> requests.PreparedRequest:
    client = VectorClient(AK, SK, endpoint, region, security_token=token, max_retry_count=0)
    adapter = CaptureAdapter()
    client.session.mount("http://", adapter)
    client.session.mount("https://", adapter)
    call(client, GenericInput(request_date=DATE))
    (request,) = adapter.captured
    return request


BKT, IDX, ACC = "my-bucket", "my-index", ACCOUNT
POLICY = '{"Version":"2025-12-01","Statement":[{"Effect":"Allow","Principal":["2100000001/ci"]}]}'

# name -> (SDK call, our call); the same request expressed in each API.
ACTIONS: dict[str, tuple[Callable[[VectorClient, GenericInput], Any], Callable[[VectorsClient], Any]]] = {
    "CreateVectorBucket": (
        lambda s, g: s.create_vector_bucket(BKT, generic_input=g),
        lambda c: c.create_vector_bucket(BKT),
    ),
    "GetVectorBucket": (
        lambda s, g: s.get_vector_bucket(BKT, ACC, generic_input=g),
        lambda c: c.get_vector_bucket(BKT),
    ),
    "ListVectorBuckets": (
        lambda s, g: s.list_vector_buckets(prefix="my", next_token="tok", max_results=5, generic_input=g),
        lambda c: c.list_vector_buckets(prefix="my", next_token="tok", max_results=5),
    ),
    "ListVectorBuckets-bare": (
        lambda s, g: s.list_vector_buckets(generic_input=g),
        lambda c: c.list_vector_buckets(),
    ),
    "DeleteVectorBucket": (
        lambda s, g: s.delete_vector_bucket(BKT, ACC, generic_input=g),
        lambda c: c.delete_vector_bucket(BKT),
    ),
    "PutVectorBucketPolicy": (
        lambda s, g: s.put_vector_bucket_policy(BKT, ACC, POLICY, generic_input=g),
        lambda c: c.put_vector_bucket_policy(BKT, POLICY),
    ),
    "GetVectorBucketPolicy": (
        lambda s, g: s.get_vector_bucket_policy(BKT, ACC, generic_input=g),
        lambda c: c.get_vector_bucket_policy(BKT),
    ),
    "DeleteVectorBucketPolicy": (
        lambda s, g: s.delete_vector_bucket_policy(BKT, ACC, generic_input=g),
        lambda c: c.delete_vector_bucket_policy(BKT),
    ),
    "CreateIndex": (
        lambda s, g: s.create_index(BKT, ACC, IDX, DataType.DataTypeFloat32, 3, DistanceMetricType.DistanceMetricCosine,
                                    {"nonFilterableMetadataKeys": ["x", "body"]}, generic_input=g),
        lambda c: c.create_index(BKT, IDX, dimension=3, distance_metric="cosine",
                                 non_filterable_metadata_keys=["x", "body"]),
    ),
    "CreateIndex-no-metadata": (
        lambda s, g: s.create_index(BKT, ACC, IDX, DataType.DataTypeFloat32, 768,
                                    DistanceMetricType.DistanceMetricEuclidean, generic_input=g),
        lambda c: c.create_index(BKT, IDX, dimension=768, distance_metric="euclidean"),
    ),
    "GetIndex": (
        lambda s, g: s.get_index(BKT, ACC, IDX, generic_input=g),
        lambda c: c.get_index(BKT, IDX),
    ),
    "ListIndexes": (
        lambda s, g: s.list_indexes(BKT, ACC, max_results=2, next_token="n1", prefix="my", generic_input=g),
        lambda c: c.list_indexes(BKT, prefix="my", max_results=2, next_token="n1"),
    ),
    "DeleteIndex": (
        lambda s, g: s.delete_index(BKT, ACC, IDX, generic_input=g),
        lambda c: c.delete_index(BKT, IDX),
    ),
    "PutVectors": (
        lambda s, g: s.put_vectors(BKT, ACC, IDX, [
            SdkVector("k1", VectorData(float32=[0.1, 0.2, 0.3]), {"a": 1, "t": "\u5411\u91cf"}),
            SdkVector("k2", VectorData(float32=[0.5, -1e-7, 3])),
        ], generic_input=g),
        lambda c: c.put_vectors(BKT, IDX, [
            Vector("k1", [0.1, 0.2, 0.3], {"a": 1, "t": "\u5411\u91cf"}),
            Vector("k2", [0.5, -1e-7, 3]),
        ]),
    ),
    "GetVectors": (
        lambda s, g: s.get_vectors(BKT, ACC, IDX, ["k1", "k2"], return_data=True, return_metadata=True,
                                   generic_input=g),
        lambda c: c.get_vectors(BKT, IDX, ["k1", "k2"], return_data=True, return_metadata=True),
    ),
    "DeleteVectors": (
        lambda s, g: s.delete_vectors(BKT, ACC, IDX, ["k1"], generic_input=g),
        lambda c: c.delete_vectors(BKT, IDX, ["k1"]),
    ),
    "ListVectors": (
        lambda s, g: s.list_vectors(BKT, IDX, ACC, max_results=10, next_token="a2V5MA==", return_metadata=True,
                                    generic_input=g),
        lambda c: c.list_vectors(BKT, IDX, max_results=10, next_token="a2V5MA==", return_metadata=True),
    ),
    "ListVectors-bare": (
        lambda s, g: s.list_vectors(BKT, IDX, ACC, generic_input=g),
        lambda c: c.list_vectors(BKT, IDX),
    ),
    "QueryVectors": (
        lambda s, g: s.query_vectors(BKT, ACC, IDX, VectorData(float32=[0.1, 0.2, 0.3]), top_k=2, return_distance=True,
                                     filter={"$and": [{"a": {"$eq": 1}}, {"b": {"$in": ["x", "y"]}}]},
                                     generic_input=g),
        lambda c: c.query_vectors(BKT, IDX, [0.1, 0.2, 0.3], top_k=2, return_distance=True,
                                  filter={"$and": [{"a": {"$eq": 1}}, {"b": {"$in": ["x", "y"]}}]}),
    ),
}

ENDPOINTS = [
    ("cn-beijing", "https://tosvectors-cn-beijing.volces.com"),
    ("cn-shanghai", "tosvectors-cn-shanghai.ivolces.com"),  # no scheme: https
    ("cn-beijing", "http://tosvectors.test:18765"),  # port kept in the signed host
    ("cn-beijing", "http://127.0.0.1:8765"),  # IP: we connect directly, same signed Host
    ("cn-guangzhou", "http://localhost:18765"),
]


def test_every_action_is_compared():
    assert {name.split("-")[0] for name in ACTIONS} == {
        "CreateVectorBucket", "GetVectorBucket", "ListVectorBuckets", "DeleteVectorBucket",
        "PutVectorBucketPolicy", "GetVectorBucketPolicy", "DeleteVectorBucketPolicy", "CreateIndex",
        "GetIndex", "ListIndexes", "DeleteIndex", "PutVectors", "GetVectors", "DeleteVectors",
        "ListVectors", "QueryVectors",
    }


@pytest.mark.parametrize("token", [None, TOKEN], ids=["ak-sk", "sts"])
@pytest.mark.parametrize("region, endpoint", ENDPOINTS, ids=[e for _, e in ENDPOINTS])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_same_request_as_the_sdk(action, region, endpoint, token):
    sdk_call, our_call = ACTIONS[action]
    theirs = sdk(sdk_call, endpoint=endpoint, region=region, token=token)
    mine = ours(our_call, endpoint=endpoint, region=region, token=token)

    assert mine.headers["Authorization"] == theirs.headers["Authorization"]
    assert mine.content == theirs.body
    for name in ("Host", "Date", "x-tos-date", "x-tos-content-sha256", "Content-Length", "Accept-Encoding",
                 "Accept"):
        assert mine.headers[name] == theirs.headers[name], name
    assert mine.headers.get("x-tos-security-token") == theirs.headers.get("x-tos-security-token")
    signed = lambda hs: sorted(k.lower() for k in hs if k.lower() == "host" or k.lower().startswith("x-tos"))  # noqa: E731
    assert signed(mine.headers) == signed(theirs.headers)

    sdk_url = httpx.URL(theirs.url)
    assert mine.method == theirs.method == "POST"
    assert mine.url.path == sdk_url.path and mine.url.scheme == sdk_url.scheme
    if "127.0.0.1" in endpoint or "localhost" in endpoint:
        # The SDK would resolve the virtual host; we connect to the endpoint and route by Host.
        assert mine.url.netloc.decode() == endpoint.split("://")[1]
    else:
        assert str(mine.url) == theirs.url


def test_sdk_retry_header_format_matches_ours():
    """The SDK's retry header, from two dropped connections, is what we send too."""

    class Flaky(CaptureAdapter):
        def send(self, request, **kwargs):  # type: ignore[override]
            self.captured.append(request.copy())
            if len(self.captured) < 3:
                raise requests.ConnectionError("dropped")
            return super().send(request, **kwargs)

    client = VectorClient(AK, SK, PROD, "cn-beijing", max_retry_count=3)
    adapter = Flaky()
    client.session.mount("https://", adapter)
    import tos.vector_client as vc

    real_sleep = vc.time.sleep
    vc.time.sleep = lambda s: None
    try:
        client.delete_index(BKT, ACC, IDX)
    finally:
        vc.time.sleep = real_sleep
    sdk_values = [r.headers.get("x-sdk-retry-count") for r in adapter.captured[:3]]
    assert sdk_values[1:] == ["attempt=1; max=3", "attempt=2; max=3"]

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            raise httpx.ConnectError("dropped")
        return httpx.Response(200, content=b"{}")

    class NoSleep:
        def now(self) -> datetime:
            return DATE

        def monotonic(self) -> float:
            return 0.0

        async def sleep(self, seconds: float) -> None:
            return None

    from reconciler.client import RetryPolicy

    async def run() -> None:
        async with VectorsClient(account_id=ACC, credentials=Credentials(AK, SK), clock=NoSleep(),
                                 transport=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=4)) as c:
            await c.delete_index(BKT, IDX)

    asyncio.run(run())
    assert [r.headers.get("x-sdk-retry-count") for r in seen] == sdk_values


# --- property: our signer and the SDK's AuthBase agree on arbitrary inputs ------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tos.auth import Auth  # noqa: E402
from tos.http import Request as SdkRequest  # noqa: E402

_ascii = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)


_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
_host = st.builds(
    lambda b, a, d, p: f"{b}-{a}.{d}" + (f":{p}" if p else ""),
    _label, st.integers(1, 10**12), st.lists(_label, min_size=1, max_size=3).map(".".join),
    st.none() | st.integers(1, 65535),
)


@settings(max_examples=100, deadline=None)
@given(
    ak=_ascii,
    sk=st.text(min_size=1, max_size=40),
    token=st.none() | _ascii,
    region=_label,
    action=st.sampled_from(sorted({name.split("-")[0] for name in ACTIONS})),
    host=_host,
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_signer_matches_sdk_auth(ak, sk, token, region, action, host, when):
    sdk_req = SdkRequest("POST", f"https://{host}/{action}", f"/{action}", host, data=b"{}",
                         headers={"x-tos-content-sha256": "UNSIGNED-PAYLOAD"},
                         generic_input=GenericInput(request_date=when))
    Auth(ak, sk, region, sts=token, service="tosvectors").sign_request(sdk_req)

    creds = Credentials(ak, sk, token)  # strips the keys, as the SDK's credentials do
    headers = {"x-tos-content-sha256": "UNSIGNED-PAYLOAD", "Host": host}
    signing.sign("POST", f"/{action}", headers, access_key=creds.access_key, secret_key=creds.secret_key,
                 region=region, date=signing.format_date(when), security_token=creds.security_token)
    assert headers == dict(sdk_req.headers)
