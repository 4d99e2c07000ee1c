"""Random and malformed requests never get a 500 or a traceback: a 4xx JSON error with an id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emulator.helpers import Api, asgi_api

ACTIONS = ["CreateVectorBucket", "DeleteVectorBucket", "GetVectorBucket", "ListVectorBuckets",
           "PutVectorBucketPolicy", "GetVectorBucketPolicy", "DeleteVectorBucketPolicy", "CreateIndex",
           "DeleteIndex", "GetIndex", "ListIndexes", "PutVectors", "GetVectors", "DeleteVectors", "ListVectors",
           "QueryVectors"]
VALID: dict[str, dict[str, Any]] = {
    "CreateIndex": {"vectorBucketName": "hyp", "indexName": "other", "dataType": "float32", "dimension": 2,
                    "distanceMetric": "cosine", "metadataConfiguration": {"nonFilterableMetadataKeys": ["n"]}},
    "PutVectors": {"vectorBucketName": "hyp", "indexName": "idx",
                   "vectors": [{"key": "k", "data": {"float32": [1.0, 2.0]}, "metadata": {"a": 1}}]},
    "GetVectors": {"vectorBucketName": "hyp", "indexName": "idx", "keys": ["k"], "returnData": True},
    "DeleteVectors": {"vectorBucketName": "hyp", "indexName": "idx", "keys": ["zz"]},
    "ListVectors": {"vectorBucketName": "hyp", "indexName": "idx", "maxResults": 2, "returnMetadata": True},
    "QueryVectors": {"vectorBucketName": "hyp", "indexName": "idx", "topK": 2, "queryVector": {"float32": [1.0, 0.5]},
                     "filter": {"a": {"$gte": 0}}, "returnDistance": True, "returnMetadata": True},
    "ListIndexes": {"vectorBucketName": "hyp", "maxResults": 2, "prefix": "i"},
    "ListVectorBuckets": {"maxResults": 2, "prefix": "h"},
    "PutVectorBucketPolicy": {"vectorBucketName": "hyp", "policy": "{\"Statement\": []}"},
    "GetIndex": {"vectorBucketName": "hyp", "indexName": "idx"},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
field_names = st.sampled_from(["vectorBucketName", "indexName", "dataType", "dimension", "distanceMetric",
                               "metadataConfiguration", "policy", "vectors", "keys", "returnData", "returnMetadata",
                               "returnDistance", "topK", "queryVector", "filter", "maxResults", "nextToken", "prefix"])
header_text = st.binary(max_size=60).map(lambda b: bytes(c for c in b if c not in (0, 10, 13)))
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def target() -> Iterator[Api]:
    api, post = asgi_api()
    api.bucket("hyp")
    api.index("hyp", "idx", dimension=2, metric="cosine", non_filterable=["n"])
    api.put("hyp", "idx", [{"key": f"v{i}", "data": {"float32": [1.0, float(i)]}, "metadata": {"a": i, "n": "x"}}
                           for i in range(5)])
    yield api
    post.close()


def assert_clean(r: httpx.Response) -> None:
    """2xx, or a 4xx with the service's JSON error body; never a 5xx, never a traceback."""
    assert r.status_code < 500, r.text
    assert r.headers["x-tos-request-id"]
    if r.status_code >= 400:
        doc = r.json()
        assert set(doc) == {"Code", "Message", "RequestId", "HostId", "EC"}, doc
        assert doc["RequestId"] == r.headers["x-tos-request-id"] and "Traceback" not in doc["Message"]


@SLOW
@given(action=st.sampled_from(ACTIONS), body=json_values)
def test_random_json_bodies(target: Api, action: str, body: Any) -> None:
    assert_clean(target.call(action, None, raw=json.dumps(body).encode(), host="hyp-2100000000.127.0.0.1"))
    assert_clean(target.call(action, None, raw=json.dumps(body).encode(), host="127.0.0.1"))


@SLOW
@given(action=st.sampled_from(sorted(VALID)), name=field_names, value=json_values)
def test_one_field_replaced_by_anything(target: Api, action: str, name: str, value: Any) -> None:
    assert_clean(target.call(action, {**VALID[action], name: value}))


@SLOW
@given(action=st.sampled_from(["PutVectors", "QueryVectors", "CreateIndex"]), path=st.lists(
    st.sampled_from(["vectors", 0, "data", "float32", "metadata", "queryVector", "filter", "$and", "$or", "$not",
                     "a", "metadataConfiguration", "nonFilterableMetadataKeys", "key"]), min_size=1, max_size=4),
       value=json_values)
def test_nested_field_replaced_by_anything(target: Api, action: str, path: list[Any], value: Any) -> None:
    body: Any = json.loads(json.dumps(VALID[action]))
    node = body
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    try:
        node[path[-1]] = value
    except (IndexError, TypeError):
        pass
    assert_clean(target.call(action, body))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(ACTIONS), raw=st.binary(max_size=200), host=header_text,
       extra=st.dictionaries(st.sampled_from(["authorization", "x-tos-date", "content-type", "x-tos-content-sha256"]),
                             header_text, max_size=3))
def test_garbage_bytes_and_headers(target: Api, action: str, raw: bytes, host: bytes, extra: dict[str, bytes]) -> None:
    headers: Any = {"host": host, **extra}
    assert_clean(target.post(f"/{action}", raw, headers))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST", "HEAD", "OPTIONS"]),
       path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40))
def test_odd_methods_and_paths(target: Api, method: str, path: str) -> None:
    post: Any = target.post
    r = post.request(method, "/" + path.lstrip("/"), b"{}", {"host": "127.0.0.1"})
    assert r.status_code < 500
    if method != "HEAD":
        assert_clean(r)


@pytest.mark.parametrize("raw", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"filter": ' + b'{"$not": ' * 5000 + b"{}" + b"}" * 5001,
    b'{"vectorBucketName": "hyp", "indexName": "idx", "topK": 1, "queryVector": {"float32": [1, 2]}, "filter": '
    + b'{"$not": ' * 3000 + b'{"a": 1}' + b"}" * 3001,
    b'{"vectorBucketName": "hyp", "indexName": "idx", "topK": 1, "queryVector": {"float32": [1, 2]}, "filter": '
    + b'{"$and": [' * 450 + b'{"a": 1}' + b"]}" * 450 + b"}",
    b'{"vectorBucketName": "hyp", "indexName": "idx", "topK": 1, "queryVector": {"float32": [1, 2]}, "filter": '
    + b'{"$not": ' * 33 + b'{"a": 1}' + b"}" * 34,
    b'{"maxResults": ' + b"9" * 5000 + b"}",
    b"\x00\x01\x02",
    '{"vectorBucketName": "h\u00fcp"}'.encode(),
])
def test_pathological_bodies(target: Api, raw: bytes) -> None:
    for action in ("QueryVectors", "ListVectorBuckets"):
        assert_clean(target.call(action, None, raw=raw, host="hyp-2100000000.127.0.0.1"))
