"""Every action's success and error paths, in-process and over HTTP (moto-style)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from tests.emulator.helpers import Api
from tests.support.emulator import ACCOUNT

TRN = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/"


def test_bucket_lifecycle(api: Api, unique: Callable[[str], str]) -> None:
    name = unique("life")
    assert api.ok("CreateVectorBucket", {"vectorBucketName": name}) == {}
    got = api.ok("GetVectorBucket", {"vectorBucketName": name})["vectorBucket"]
    assert set(got) == {"creationTime", "vectorBucketName", "vectorBucketTrn", "projectName"}
    assert got["vectorBucketName"] == name and got["vectorBucketTrn"] == TRN + name
    assert got["projectName"] == "default"
    assert isinstance(got["creationTime"], int) and abs(got["creationTime"] - time.time()) < 60
    listed = api.ok("ListVectorBuckets", {"prefix": name})
    assert listed == {"vectorBuckets": [got]}
    api.err("CreateVectorBucket", {"vectorBucketName": name}, 409, "ConflictException", name)
    assert api.ok("DeleteVectorBucket", {"vectorBucketName": name}) == {}
    api.err("GetVectorBucket", {"vectorBucketName": name}, 404, "VectorBucketNotFound", name)
    api.err("DeleteVectorBucket", {"vectorBucketName": name}, 404, "VectorBucketNotFound")
    assert api.ok("ListVectorBuckets", {"prefix": name}) == {"vectorBuckets": []}


def test_policy_round_trip_is_byte_for_byte(api: Api, unique: Callable[[str], str]) -> None:
    bucket = api.bucket(unique("pol"))
    ref = {"vectorBucketName": bucket}
    api.err("GetVectorBucketPolicy", ref, 404, "VectorBucketPolicyNotFound", bucket)
    api.err("DeleteVectorBucketPolicy", ref, 404, "VectorBucketPolicyNotFound")
    text = '{ "Version":"2025-12-01",\n  "Statement" : [ ], "Id": "caf\u00e9" }'
    assert api.ok("PutVectorBucketPolicy", {**ref, "policy": text}) == {}
    r = api.call("GetVectorBucketPolicy", ref)
    assert r.status_code == 200 and r.content == text.encode() and r.headers["x-tos-request-id"]
    replacement = ('{"Version":"2025-12-01","Statement":[{"Effect":"Allow","Principal":"2100000001",'
                   '"Action":"tosvectors:GetIndex","Resource":"*"}]}')
    api.ok("PutVectorBucketPolicy", {**ref, "policy": replacement})
    assert api.call("GetVectorBucketPolicy", ref).text == replacement
    assert api.ok("DeleteVectorBucketPolicy", ref) == {}
    api.err("GetVectorBucketPolicy", ref, 404, "VectorBucketPolicyNotFound")
    api.err("PutVectorBucketPolicy", {**ref, "policy": "{not json"}, 400, "ValidationException", "policy")
    api.err("PutVectorBucketPolicy", {**ref, "policy": "[1, 2]"}, 400, "ValidationException", "JSON object")
    missing = {"vectorBucketName": unique("nobucket"), "policy": "{\"Version\": \"1\", \"Statement\": []}"}
    api.err("PutVectorBucketPolicy", missing, 404, "VectorBucketNotFound")
    api.err("GetVectorBucketPolicy", {"vectorBucketName": missing["vectorBucketName"]}, 404, "VectorBucketNotFound")


def test_index_lifecycle(api: Api, unique: Callable[[str], str]) -> None:
    bucket = api.bucket(unique("idx"))
    body = {"vectorBucketName": bucket, "indexName": "docs.v1", "dataType": "float32", "dimension": 8,
            "distanceMetric": "cosine", "metadataConfiguration": {"nonFilterableMetadataKeys": ["body", "url"]}}
    assert api.ok("CreateIndex", body) == {}
    api.err("CreateIndex", body, 409, "ConflictException", "docs.v1")
    got = api.ok("GetIndex", {"vectorBucketName": bucket, "indexName": "docs.v1"})["index"]
    assert got == {"creationTime": got["creationTime"], "indexName": "docs.v1",
                   "indexTrn": f"{TRN}{bucket}/index/docs.v1", "vectorBucketName": bucket,
                   "dataType": "float32", "dimension": 8, "distanceMetric": "cosine",
                   "metadataConfiguration": {"nonFilterableMetadataKeys": ["body", "url"]}}
    assert isinstance(got["creationTime"], int)
    api.index(bucket, "plain")  # no metadataConfiguration at all
    plain = api.ok("GetIndex", {"vectorBucketName": bucket, "indexName": "plain"})["index"]
    assert plain["metadataConfiguration"] == {"nonFilterableMetadataKeys": []}
    listed = api.ok("ListIndexes", {"vectorBucketName": bucket})
    assert [i["indexName"] for i in listed["indexes"]] == ["docs.v1", "plain"]
    assert set(listed["indexes"][0]) == {"creationTime", "indexName", "indexTrn", "vectorBucketName"}
    assert "nextToken" not in listed
    api.err("DeleteVectorBucket", {"vectorBucketName": bucket}, 409, "ConflictException", "2 indexes")
    for name in ("docs.v1", "plain"):
        assert api.ok("DeleteIndex", {"vectorBucketName": bucket, "indexName": name}) == {}
    ref = {"vectorBucketName": bucket, "indexName": "plain"}
    api.err("GetIndex", ref, 404, "VectorIndexNotFound", "plain")
    api.err("DeleteIndex", ref, 404, "VectorIndexNotFound")
    api.ok("DeleteVectorBucket", {"vectorBucketName": bucket})
    api.err("GetIndex", ref, 404, "VectorBucketNotFound")
    api.err("CreateIndex", {**body, "vectorBucketName": bucket}, 404, "VectorBucketNotFound")
    api.err("ListIndexes", {"vectorBucketName": bucket}, 404, "VectorBucketNotFound")


def _vec(key: str, values: list[float], **metadata: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"key": key, "data": {"float32": values}}
    if metadata:
        item["metadata"] = metadata
    return item


def test_vectors_put_get_overwrite_delete(api: Api, unique: Callable[[str], str]) -> None:
    bucket = api.bucket(unique("vec"))
    api.index(bucket, "idx", dimension=3)
    ref = {"vectorBucketName": bucket, "indexName": "idx"}
    api.put(bucket, "idx", [_vec("b", [0.1, 0.2, 0.3], genre="x", n=1), _vec("a", [1, 2, 3])])
    got = api.ok("GetVectors", {**ref, "keys": ["b", "missing", "a"]})
    assert got == {"vectors": [{"key": "b"}, {"key": "a"}]}  # request order, missing left out
    got = api.ok("GetVectors", {**ref, "keys": ["a", "b"], "returnMetadata": True, "returnData": True})
    assert got["vectors"] == [{"key": "a", "data": {"float32": [1.0, 2.0, 3.0]}},
                              {"key": "b", "data": {"float32": [0.1, 0.2, 0.3]}, "metadata": {"genre": "x", "n": 1}}]
    api.put(bucket, "idx", [_vec("a", [3, 2, 1], genre="y")])  # overwrite
    got = api.ok("GetVectors", {**ref, "keys": ["a"], "returnMetadata": True, "returnData": True})
    assert got["vectors"] == [{"key": "a", "data": {"float32": [3.0, 2.0, 1.0]}, "metadata": {"genre": "y"}}]
    assert api.ok("DeleteVectors", {**ref, "keys": ["a", "never-there"]}) == {}
    assert api.ok("GetVectors", {**ref, "keys": ["a", "b"]}) == {"vectors": [{"key": "b"}]}
    assert api.ok("ListVectors", ref) == {"vectors": [{"key": "b"}]}
    missing = {**ref, "indexName": "nope"}
    calls: list[tuple[str, dict[str, Any]]] = [("PutVectors", {"vectors": [_vec("k", [1, 2, 3])]}), ("GetVectors", {"keys": ["k"]}),
                          ("DeleteVectors", {"keys": ["k"]}), ("ListVectors", {}),
                          ("QueryVectors", {"topK": 1, "queryVector": {"float32": [1, 2, 3]}})]
    for action, extra in calls:
        api.err(action, {**missing, **extra}, 404, "VectorIndexNotFound", "nope")
        api.err(action, {**missing, **extra, "vectorBucketName": unique("gone")}, 404, "VectorBucketNotFound")


def test_deleting_an_index_deletes_its_vectors(api: Api, unique: Callable[[str], str]) -> None:
    bucket = api.bucket(unique("drop"))
    api.index(bucket, "idx")
    api.put(bucket, "idx", [_vec("k", [1, 2, 3])])
    api.ok("DeleteIndex", {"vectorBucketName": bucket, "indexName": "idx"})
    api.index(bucket, "idx")
    ref = {"vectorBucketName": bucket, "indexName": "idx"}
    assert api.ok("ListVectors", ref) == {"vectors": []}
    assert api.query(bucket, "idx", [1, 2, 3]) == []


def _pages(api: Api, action: str, body: dict[str, Any], field: str, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    token = None
    name = "indexName" if field == "indexes" else "vectorBucketName" if field == "vectorBuckets" else "key"
    while True:
        page = api.ok(action, {**body, "maxResults": size, **({"nextToken": token} if token else {})})
        pages.append([item[name] for item in page[field]])
        token = page.get("nextToken")
        assert token is None or len(page[field]) == size  # a token only on a full page
        if token is None:
            return pages
        assert len(pages) < 100


def test_pagination_of_every_list(api: Api, unique: Callable[[str], str]) -> None:
    stem = unique("pg")
    buckets = [api.bucket(f"{stem}-{i}") for i in range(5)]
    assert _pages(api, "ListVectorBuckets", {"prefix": stem}, "vectorBuckets", 2) == [
        buckets[0:2], buckets[2:4], buckets[4:5]]
    # a full last page still gets a token; the next page is then empty and has none
    assert _pages(api, "ListVectorBuckets", {"prefix": stem}, "vectorBuckets", 5) == [buckets, []]
    names = [api.index(buckets[0], f"ix{i:02d}") for i in range(7)]
    assert _pages(api, "ListIndexes", {"vectorBucketName": buckets[0]}, "indexes", 3) == [
        names[0:3], names[3:6], names[6:7]]
    assert _pages(api, "ListIndexes", {"vectorBucketName": buckets[0], "prefix": "ix0"}, "indexes", 500) == [names]
    keys = sorted(f"key{i}" for i in range(10))
    api.put(buckets[0], "ix00", [_vec(k, [1, 2, 3]) for k in reversed(keys)])
    ref = {"vectorBucketName": buckets[0], "indexName": "ix00"}
    assert _pages(api, "ListVectors", ref, "vectors", 5) == [keys[:5], keys[5:], []]
    first = api.ok("ListVectors", {**ref, "maxResults": 1})
    assert first["nextToken"] == base64.b64encode(b"key0").decode()  # like the reference's a2V5MA==
    assert api.ok("ListVectors", ref) == {"vectors": [{"key": k} for k in keys]}
    api.err("ListVectors", {**ref, "nextToken": "!!not base64!!"}, 400, "ValidationException", "nextToken")


def test_every_answer_carries_request_ids(api: Api, unique: Callable[[str], str]) -> None:
    ok = api.call("ListVectorBuckets", {})
    bad = api.call("GetVectorBucket", {"vectorBucketName": unique("none")})
    ids = set()
    for r in (ok, bad):
        assert r.headers["x-tos-request-id"] and r.headers["x-tos-id-2"]
        assert r.headers["content-type"] == "application/json"
        ids.add(r.headers["x-tos-request-id"])
    assert len(ids) == 2
    doc = bad.json()
    assert set(doc) == {"Code", "Message", "RequestId", "HostId", "EC"}
    assert doc["HostId"] and doc["EC"] == bad.headers["x-tos-ec"]
    assert "x-tos-ec" not in ok.headers


def test_list_vectors_page_stops_at_about_one_megabyte(asgi: Api) -> None:
    asgi.bucket("big")
    asgi.index("big", "idx", dimension=4096)
    asgi.put("big", "idx", [{"key": f"k{i:03d}", "data": {"float32": [float(i)] * 4096}} for i in range(60)])
    ref = {"vectorBucketName": "big", "indexName": "idx", "maxResults": 1000, "returnData": True}
    seen: list[str] = []
    token = None
    for _ in range(10):
        r = asgi.call("ListVectors", {**ref, **({"nextToken": token} if token else {})})
        page = r.json()
        assert len(r.content) < 2_500_000
        seen += [v["key"] for v in page["vectors"]]
        assert all(v["data"]["float32"][0] == float(v["key"][1:]) for v in page["vectors"])
        token = page.get("nextToken")
        if token is None:
            break
    assert seen == [f"k{i:03d}" for i in range(60)]
    assert asgi.ok("ListVectors", {**ref, "returnData": False})["vectors"][59]["key"] == "k059"  # keys only: one page


def test_keys_too_long_for_a_token_still_page(asgi: Api) -> None:
    """1024 CJK characters are 3 KB of UTF-8: base64 would pass ListVectors' 2048-character token limit."""
    asgi.bucket("wide")
    asgi.index("wide", "idx", dimension=2)
    keys = [chr(0x4E00 + i) * 1024 for i in range(3)]
    asgi.put("wide", "idx", [{"key": k, "data": {"float32": [1.0, 2.0]}} for k in keys])
    ref = {"vectorBucketName": "wide", "indexName": "idx", "maxResults": 1}
    first = asgi.ok("ListVectors", ref)
    assert len(first["nextToken"]) <= 2048 and first["vectors"] == [{"key": keys[0]}]
    second = asgi.ok("ListVectors", {**ref, "nextToken": first["nextToken"]})
    assert second["vectors"] == [{"key": keys[1]}]
    asgi.err("ListVectors", {**ref, "nextToken": "~" + "0" * 40}, 400, "ValidationException", "nextToken")


def test_answers_carry_what_the_fast_encoder_refuses(asgi: Api) -> None:
    """Answers are written with orjson, which refuses an integer beyond 64 bits; such a
    metadata value (valid JSON, stored as given) still comes back, through json."""
    asgi.bucket("wide-ints")
    asgi.index("wide-ints", "idx", dimension=2)
    asgi.put("wide-ints", "idx", [{"key": "k", "data": {"float32": [0.1, 0.2]}, "metadata": {"n": 2**70, "s": "é"}}])
    got = asgi.ok("GetVectors", {"vectorBucketName": "wide-ints", "indexName": "idx", "keys": ["k"],
                                 "returnMetadata": True, "returnData": True})
    assert got["vectors"] == [{"key": "k", "data": {"float32": [0.1, 0.2]}, "metadata": {"n": 2**70, "s": "é"}}]
