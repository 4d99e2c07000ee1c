"""Every action: request line, Host, exact body bytes, headers; and response parsing."""

from __future__ import annotations

from typing import Any

import pytest
from client_fakes import ACCOUNT, AK, FakeServer, ok

from reconciler.client import (
    DataType,
    Index,
    IndexSummary,
    Page,
    QueryMatch,
    Vector,
    VectorBucket,
    VectorBucketSummary,
    VectorData,
    VectorsClient,
)

pytestmark = pytest.mark.anyio

REGION_HOST = "tosvectors-cn-beijing.volces.com"
BUCKET_HOST = f"my-bucket-{ACCOUNT}.{REGION_HOST}"

BUCKET_JSON = {
    "creationTime": 1765792988,
    "vectorBucketName": "my-bucket",
    "vectorBucketTrn": f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/my-bucket",
    "projectName": "default",
}
INDEX_JSON = {
    "creationTime": 1765792989,
    "dataType": "float32",
    "dimension": 3,
    "distanceMetric": "cosine",
    "indexName": "my-index",
    "indexTrn": f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/my-bucket/index/my-index",
    "vectorBucketName": "my-bucket",
    "metadataConfiguration": {"nonFilterableMetadataKeys": ["x", "y"]},
}

# (name, call, path, host, exact body, response json, expected result)
CASES: list[tuple[str, Any, str, str, str, Any, Any]] = [
    (
        "create_vector_bucket",
        lambda c: c.create_vector_bucket("my-bucket"),
        "/CreateVectorBucket", REGION_HOST,
        '{"vectorBucketName": "my-bucket"}', {}, None,
    ),
    (
        "get_vector_bucket",
        lambda c: c.get_vector_bucket("my-bucket"),
        "/GetVectorBucket", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket"}', {"vectorBucket": BUCKET_JSON},
        VectorBucket("my-bucket", BUCKET_JSON["vectorBucketTrn"], 1765792988, "default"),
    ),
    (
        "list_vector_buckets",
        lambda c: c.list_vector_buckets(prefix="my", max_results=5, next_token="t1"),
        "/ListVectorBuckets", REGION_HOST,
        '{"prefix": "my", "nextToken": "t1", "maxResults": 5}',
        {"vectorBuckets": [BUCKET_JSON], "nextToken": "t2"},
        Page([VectorBucketSummary("my-bucket", BUCKET_JSON["vectorBucketTrn"], 1765792988, "default")], "t2"),
    ),
    (
        "list_vector_buckets_bare",
        lambda c: c.list_vector_buckets(),
        "/ListVectorBuckets", REGION_HOST, "{}", {}, Page([], None),
    ),
    (
        "delete_vector_bucket",
        lambda c: c.delete_vector_bucket("my-bucket"),
        "/DeleteVectorBucket", BUCKET_HOST, '{"vectorBucketName": "my-bucket"}', {}, None,
    ),
    (
        "put_vector_bucket_policy",
        lambda c: c.put_vector_bucket_policy("my-bucket", '{"Version":"2012-10-17","Statement":[]}'),
        "/PutVectorBucketPolicy", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "policy": "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}"}',
        {}, None,
    ),
    (
        "delete_vector_bucket_policy",
        lambda c: c.delete_vector_bucket_policy("my-bucket"),
        "/DeleteVectorBucketPolicy", BUCKET_HOST, '{"vectorBucketName": "my-bucket"}', {}, None,
    ),
    (
        "create_index",
        lambda c: c.create_index("my-bucket", "my-index", dimension=3, distance_metric="cosine",
                                 non_filterable_metadata_keys=["x"]),
        "/CreateIndex", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "indexName": "my-index", "dataType": "float32", "dimension": 3, '
        '"distanceMetric": "cosine", "metadataConfiguration": {"nonFilterableMetadataKeys": ["x"]}}',
        {}, None,
    ),
    (
        "create_index_no_keys",
        lambda c: c.create_index("my-bucket", "my-index", dimension=768, distance_metric="euclidean"),
        "/CreateIndex", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "indexName": "my-index", "dataType": "float32", "dimension": 768, '
        '"distanceMetric": "euclidean"}',
        {}, None,
    ),
    (
        "get_index",
        lambda c: c.get_index("my-bucket", "my-index"),
        "/GetIndex", BUCKET_HOST, '{"indexName": "my-index", "vectorBucketName": "my-bucket"}',
        {"index": INDEX_JSON},
        Index("my-bucket", "my-index", INDEX_JSON["indexTrn"], 1765792989, "float32", 3, "cosine", ("x", "y")),
    ),
    (
        "list_indexes",
        lambda c: c.list_indexes("my-bucket", prefix="my", max_results=2),
        "/ListIndexes", BUCKET_HOST, '{"vectorBucketName": "my-bucket", "maxResults": 2, "prefix": "my"}',
        {"indexes": [{k: INDEX_JSON[k] for k in ("creationTime", "indexName", "indexTrn", "vectorBucketName")}]},
        Page([IndexSummary("my-bucket", "my-index", INDEX_JSON["indexTrn"], 1765792989)], None),
    ),
    (
        "list_indexes_token",
        lambda c: c.list_indexes("my-bucket", next_token="1b802ff5test-index-3"),
        "/ListIndexes", BUCKET_HOST, '{"vectorBucketName": "my-bucket", "nextToken": "1b802ff5test-index-3"}',
        {"indexes": []}, Page([], None),
    ),
    (
        "delete_index",
        lambda c: c.delete_index("my-bucket", "my-index"),
        "/DeleteIndex", BUCKET_HOST, '{"vectorBucketName": "my-bucket", "indexName": "my-index"}', {}, None,
    ),
    (
        "put_vectors",
        lambda c: c.put_vectors("my-bucket", "my-index", [
            Vector("k1", [0.1, 0.2, 0.3], {"a": 1}),
            Vector("k2", [0.5, 0.5, 0.5]),
            Vector("k3", [1, 2, 3], {}),
        ]),
        "/PutVectors", BUCKET_HOST,
        '{"indexName": "my-index", "vectorBucketName": "my-bucket", "vectors": ['
        '{"key": "k1", "data": {"float32": [0.1, 0.2, 0.3]}, "metadata": {"a": 1}}, '
        '{"key": "k2", "data": {"float32": [0.5, 0.5, 0.5]}}, '
        '{"key": "k3", "data": {"float32": [1, 2, 3]}}]}',
        {}, None,
    ),
    (
        "put_vectors_non_ascii",
        lambda c: c.put_vectors("my-bucket", "my-index", [Vector("k\u00e9", [1.5], {"t": "\u5411\u91cf"})]),
        "/PutVectors", BUCKET_HOST,
        '{"indexName": "my-index", "vectorBucketName": "my-bucket", "vectors": ['
        '{"key": "k\\u00e9", "data": {"float32": [1.5]}, "metadata": {"t": "\\u5411\\u91cf"}}]}',
        {}, None,
    ),
    (
        "put_vectors_int8",
        lambda c: c.put_vectors("my-bucket", "my-index", [
            Vector("k1", VectorData(int8=[-128, 0, 127])),
            Vector("k2", VectorData(float32=[0.5]), {"a": 1}),
        ]),
        "/PutVectors", BUCKET_HOST,
        '{"indexName": "my-index", "vectorBucketName": "my-bucket", "vectors": ['
        '{"key": "k1", "data": {"int8": [-128, 0, 127]}}, '
        '{"key": "k2", "data": {"float32": [0.5]}, "metadata": {"a": 1}}]}',
        {}, None,
    ),
    (
        "get_vectors_int8",
        lambda c: c.get_vectors("my-bucket", "my-index", ["k1", "k2"], return_data=True),
        "/GetVectors", BUCKET_HOST,
        '{"indexName": "my-index", "keys": ["k1", "k2"], "returnData": true, "returnMetadata": false, '
        '"vectorBucketName": "my-bucket"}',
        {"vectors": [{"key": "k1", "data": {"int8": [-128, 5, 127]}}, {"key": "k2", "data": {"int8": [1.5]}}]},
        [Vector("k1", VectorData(int8=[-128, 5, 127])), Vector("k2")],  # 1.5 is no int8: left out
    ),
    (
        "query_vectors_int8",
        lambda c: c.query_vectors("my-bucket", "my-index", VectorData(int8=[1, -2]), top_k=1),
        "/QueryVectors", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "indexName": "my-index", "returnDistance": false, '
        '"returnMetadata": false, "topK": 1, "queryVector": {"int8": [1, -2]}}',
        {"vectors": [{"key": "k1", "data": {"int8": [1, -2]}}]},
        [QueryMatch("k1", None, None, VectorData(int8=[1, -2]))],
    ),
    (
        "create_index_int8",
        lambda c: c.create_index("my-bucket", "my-index", dimension=8, distance_metric="euclidean",
                                 data_type=DataType.INT8),
        "/CreateIndex", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "indexName": "my-index", "dataType": "int8", "dimension": 8, '
        '"distanceMetric": "euclidean"}',
        {}, None,
    ),
    (
        "get_vectors",
        lambda c: c.get_vectors("my-bucket", "my-index", ["k1", "k2"]),
        "/GetVectors", BUCKET_HOST,
        '{"indexName": "my-index", "keys": ["k1", "k2"], "returnData": false, "returnMetadata": false, '
        '"vectorBucketName": "my-bucket"}',
        {"vectors": [{"key": "k1"}, {"key": "k2"}]},
        [Vector("k1"), Vector("k2")],
    ),
    (
        "get_vectors_flags",
        lambda c: c.get_vectors("my-bucket", "my-index", ("k1",), return_data=True, return_metadata=True),
        "/GetVectors", BUCKET_HOST,
        '{"indexName": "my-index", "keys": ["k1"], "returnData": true, "returnMetadata": true, '
        '"vectorBucketName": "my-bucket"}',
        {"vectors": [{"key": "k1", "data": {"float32": [0.5, 1]}, "metadata": {"a": "b"}}]},
        [Vector("k1", [0.5, 1.0], {"a": "b"})],
    ),
    (
        "delete_vectors",
        lambda c: c.delete_vectors("my-bucket", "my-index", ["k1"]),
        "/DeleteVectors", BUCKET_HOST,
        '{"indexName": "my-index", "keys": ["k1"], "vectorBucketName": "my-bucket"}', {}, None,
    ),
    (
        "list_vectors_bare",
        lambda c: c.list_vectors("my-bucket", "my-index"),
        "/ListVectors", BUCKET_HOST, '{"indexName": "my-index", "vectorBucketName": "my-bucket"}',
        {"vectors": [{"key": "key0"}], "nextToken": "a2V5MA=="},
        Page([Vector("key0")], "a2V5MA=="),
    ),
    (
        "list_vectors_all_options",
        lambda c: c.list_vectors("my-bucket", "my-index", max_results=1, next_token="a2V5MA==",
                                 return_data=True, return_metadata=True),
        "/ListVectors", BUCKET_HOST,
        '{"indexName": "my-index", "vectorBucketName": "my-bucket", "maxResults": 1, "nextToken": "a2V5MA==", '
        '"returnData": true, "returnMetadata": true}',
        {"vectors": [{"key": "key1", "metadata": {"n": 2}}], "nextToken": ""},
        Page([Vector("key1", None, {"n": 2})], None),
    ),
    (
        "query_vectors",
        lambda c: c.query_vectors("my-bucket", "my-index", [0.1, 0.2, 0.3], top_k=2, filter={"a": {"$eq": 1}}),
        "/QueryVectors", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "indexName": "my-index", "returnDistance": false, '
        '"returnMetadata": false, "topK": 2, "queryVector": {"float32": [0.1, 0.2, 0.3]}, '
        '"filter": {"a": {"$eq": 1}}}',
        {"vectors": [{"key": "k1"}]},
        [QueryMatch("k1", None, None, None)],
    ),
    (
        "query_vectors_flags_empty_filter",
        lambda c: c.query_vectors("my-bucket", "my-index", [1.0], filter={}, return_distance=True,
                                  return_metadata=True),
        "/QueryVectors", BUCKET_HOST,
        '{"vectorBucketName": "my-bucket", "indexName": "my-index", "returnDistance": true, '
        '"returnMetadata": true, "topK": 10, "queryVector": {"float32": [1.0]}}',
        {"vectors": [{"key": "k1", "distance": 0.050000004, "metadata": {"a": 1}, "data": {"float32": [1.0]}},
                     {"key": "k2", "distance": 1}]},
        [QueryMatch("k1", 0.050000004, {"a": 1}, [1.0]), QueryMatch("k2", 1.0, None, None)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_action_request_and_response(case, make_client, server: FakeServer):
    _, call, path, host, body, reply, expected = case
    server.queue(ok(reply))
    async with make_client() as client:
        result = await call(client)
    assert result == expected
    (req,) = server.requests
    assert req.method == "POST"
    assert req.url.path == path and req.url.query == b""
    assert req.url.host == host and req.url.scheme == "https"
    assert req.headers["host"] == host
    assert req.content == body.encode("ascii")
    assert req.headers["content-length"] == str(len(body))
    assert req.headers["x-tos-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert req.headers["date"] == req.headers["x-tos-date"] == "20250102T030405Z"
    assert req.headers["authorization"].startswith(
        f"TOS4-HMAC-SHA256 Credential={AK}/20250102/cn-beijing/tosvectors/request, "
        "SignedHeaders=host;x-tos-content-sha256;x-tos-date, Signature="
    )
    assert "content-type" not in req.headers
    assert "x-sdk-retry-count" not in req.headers


def test_every_action_is_covered():
    actions = {c[2] for c in CASES} | {"/GetVectorBucketPolicy"}  # policy text: tested below
    assert len(actions) == 16


async def test_headers_match_the_sdk_set_and_order(client: VectorsClient, server: FakeServer):
    async with client:
        await client.delete_index("my-bucket", "my-index")
    names = [k.decode() for k, _ in server.last.headers.raw]
    assert names == [
        "User-Agent", "Accept-Encoding", "Accept", "Connection", "x-tos-content-sha256", "Host",
        "Date", "x-tos-date", "Authorization", "Content-Length",
    ]
    assert server.last.headers["user-agent"].startswith("reconciler/0.1.0 (")
    assert server.last.headers["accept-encoding"] == "gzip, deflate"
    assert server.last.headers["accept"] == "*/*"


async def test_security_token_header_is_sent_and_signed(make_client, server: FakeServer):
    from reconciler.client import Credentials

    async with make_client(credentials=Credentials(AK, "sk", "TOKEN-1")) as client:
        await client.delete_index("my-bucket", "my-index")
    assert server.last.headers["x-tos-security-token"] == "TOKEN-1"
    assert "SignedHeaders=host;x-tos-content-sha256;x-tos-date;x-tos-security-token," in (
        server.last.headers["authorization"]
    )


@pytest.mark.parametrize("credentials", [None, ("", "")])
async def test_anonymous_requests_are_not_signed(make_client, server: FakeServer, credentials):
    from reconciler.client import Credentials

    creds = Credentials(*credentials) if credentials else None
    async with make_client(credentials=creds) as client:
        await client.create_vector_bucket("my-bucket")
    headers = server.last.headers
    for name in ("authorization", "date", "x-tos-date", "x-tos-security-token"):
        assert name not in headers
    assert headers["x-tos-content-sha256"] == "UNSIGNED-PAYLOAD"


async def test_get_vector_bucket_policy_returns_raw_text(client: VectorsClient, server: FakeServer):
    policy = '{"Version": "2025-12-01",\n "Statement": [ ]}'
    server.queue(ok(text=policy))
    async with client:
        assert await client.get_vector_bucket_policy("my-bucket") == policy
    assert server.last.url.path == "/GetVectorBucketPolicy"
    assert server.last.headers["host"] == BUCKET_HOST
    assert server.last.content == b'{"vectorBucketName": "my-bucket"}'


async def test_numpy_like_numbers_are_sent_as_floats(client: VectorsClient, server: FakeServer):
    class F:  # stands in for numpy.float32: not a float, converts with float()
        def __init__(self, v: float):
            self.v = v

        def __float__(self) -> float:
            return self.v

    async with client:
        await client.query_vectors("my-bucket", "my-index", [F(0.25), F(1.0)])  # type: ignore[list-item]
    assert b'"queryVector": {"float32": [0.25, 1.0]}' in server.last.content


async def test_sdk_enums_are_accepted_for_type_and_metric(client: VectorsClient, server: FakeServer):
    from tos.enum import DataType, DistanceMetricType

    async with client:
        await client.create_index("my-bucket", "my-index", dimension=2,
                                  distance_metric=DistanceMetricType.DistanceMetricCosine,  # type: ignore[arg-type]
                                  data_type=DataType.DataTypeFloat32)  # type: ignore[arg-type]
    assert b'"dataType": "float32", "dimension": 2, "distanceMetric": "cosine"' in server.last.content


@pytest.mark.parametrize(
    "action, reply",
    [
        ("get_vector_bucket", {}),
        ("get_index", {"index": None}),
    ],
)
async def test_missing_wrapper_object_is_a_clear_error(client, server: FakeServer, action, reply):
    from reconciler.errors import ApiError

    server.queue(ok(reply))
    call = {"get_vector_bucket": lambda: client.get_vector_bucket("my-bucket"),
            "get_index": lambda: client.get_index("my-bucket", "my-index")}[action]
    async with client:
        with pytest.raises(ApiError, match="has no"):
            await call()


async def test_non_json_success_body_is_a_clear_error(client: VectorsClient, server: FakeServer):
    from reconciler.errors import ApiError

    server.queue(ok(text="<html>oops</html>", headers={"x-tos-request-id": "rid-9"}))
    async with client:
        with pytest.raises(ApiError) as info:
            await client.list_indexes("my-bucket")
    assert str(info.value) == (
        "ListIndexes: expected a JSON object in the response (request id rid-9), got: <html>oops</html>"
    )


async def test_lenient_parsing_of_sparse_responses(client: VectorsClient, server: FakeServer):
    server.queue(ok({"index": {"indexName": "i1"}}), ok({"vectors": None}), ok({"vectorBuckets": [{}]}))
    async with client:
        idx = await client.get_index("my-bucket", "i1")
        assert idx == Index("my-bucket", "i1", "", 0, "", 0, "", ())
        assert await client.get_vectors("my-bucket", "i1", ["a"]) == []
        page = await client.list_vector_buckets()
        assert page == Page([VectorBucketSummary("", "", 0, None)], None)


def test_a_plain_list_is_float32_data() -> None:
    assert Vector("k", [1, 2.5]).data == VectorData(float32=[1, 2.5])
    assert Vector("k", [1, 2.5]) == Vector("k", VectorData(float32=[1, 2.5]))
    assert QueryMatch("k", 0.5, None, [1.0]).data == VectorData(float32=[1.0])
    assert VectorData(int8=[1]).data_type is DataType.INT8 and VectorData(float32=[]).data_type is DataType.FLOAT32
    assert DataType("int8") is DataType.INT8 and DataType.INT8 == "int8"


@pytest.mark.parametrize("bad, message", [
    ({}, "exactly one of float32= and int8="),
    ({"float32": [1.0], "int8": [1]}, "exactly one of float32= and int8="),
    ({"int8": [0, 128]}, "int8[1] must be an integer in -128..127, got 128"),
    ({"int8": [-129]}, "int8[0] must be an integer in -128..127, got -129"),
    ({"int8": [1.0]}, "int8[0] must be an integer in -128..127, got 1.0"),
    ({"int8": [True]}, "int8[0] must be an integer in -128..127, got True"),
])
def test_int8_values_are_checked_before_anything_is_sent(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as e:
        VectorData(**bad)
    assert str(e.value).endswith(message)
