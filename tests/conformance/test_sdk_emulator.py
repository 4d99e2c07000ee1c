"""The official SDK (tos 2.9.3 VectorClient) drives every action of `reconciler serve` over HTTP.

Like moto's tests with boto3: the real client, unchanged, pointed at 127.0.0.1 with a
requests adapter (README "Wire protocol" §6 C), so its URLs, Host headers, bodies, signatures and
response parsing are all the SDK's own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` under plain `pytest`

from tos.enum import DataType, DistanceMetricType  # noqa: E402
from tos.exceptions import TosServerError  # noqa: E402
from tos.models2 import Vector, VectorData  # noqa: E402

from tests.support.emulator import running_emulator  # noqa: E402
from tests.support.sdk import ACCOUNT, EmulatorVectorClient, sdk_client  # noqa: E402

AK, SK = "AKLTconformanceKey", "conformanceSecret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_emulator(tmp_path_factory.mktemp("sdk")) as emu:
        yield emu


@pytest.fixture(scope="module")
def sdk(server: Any) -> Iterator[EmulatorVectorClient]:
    client = sdk_client(server.url)
    yield client
    client.close()


def server_error(call: Callable[[], Any], status: int, code: str) -> TosServerError:
    with pytest.raises(TosServerError) as info:
        call()
    e = info.value
    assert (e.status_code, e.code) == (status, code), (e.status_code, e.code, e.message)
    assert e.request_id and e.message and e.ec
    return e


def test_buckets_and_policies(sdk: EmulatorVectorClient) -> None:
    for name in ("sdk-b1", "sdk-b2", "sdk-b3"):
        assert sdk.create_vector_bucket(name).status_code == 200
    got = sdk.get_vector_bucket("sdk-b1", ACCOUNT).vector_bucket
    assert got.vector_bucket_name == "sdk-b1" and isinstance(got.creation_time, int)
    assert got.vector_bucket_trn == f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/sdk-b1"
    page = sdk.list_vector_buckets(prefix="sdk-b", max_results=2)
    assert [b.vector_bucket_name for b in page.vector_buckets] == ["sdk-b1", "sdk-b2"] and page.next_token
    rest = sdk.list_vector_buckets(prefix="sdk-b", max_results=2, next_token=page.next_token)
    assert [b.vector_bucket_name for b in rest.vector_buckets] == ["sdk-b3"] and rest.next_token is None
    server_error(lambda: sdk.create_vector_bucket("sdk-b1"), 409, "ConflictException")
    server_error(lambda: sdk.get_vector_bucket("sdk-none", ACCOUNT), 404, "VectorBucketNotFound")

    policy = json.dumps({"Version": "2025-12-01", "Statement": [{"Effect": "Allow", "Principal": ["*"],
                         "Action": ["tosvectors:*"], "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/sdk-b1"]}]},
                        indent=2)
    server_error(lambda: sdk.get_vector_bucket_policy("sdk-b1", ACCOUNT), 404, "VectorBucketPolicyNotFound")
    assert sdk.put_vector_bucket_policy("sdk-b1", ACCOUNT, policy).status_code == 200
    assert sdk.get_vector_bucket_policy("sdk-b1", ACCOUNT).policy == policy  # the raw body, byte for byte
    server_error(lambda: sdk.put_vector_bucket_policy("sdk-b1", ACCOUNT, "{oops"), 400, "ValidationException")
    assert sdk.delete_vector_bucket_policy("sdk-b1", ACCOUNT).status_code == 200
    server_error(lambda: sdk.delete_vector_bucket_policy("sdk-b1", ACCOUNT), 404, "VectorBucketPolicyNotFound")

    for name in ("sdk-b1", "sdk-b2", "sdk-b3"):
        assert sdk.delete_vector_bucket(name, ACCOUNT).status_code == 200
    server_error(lambda: sdk.delete_vector_bucket("sdk-b1", ACCOUNT), 404, "VectorBucketNotFound")


def test_indexes(sdk: EmulatorVectorClient) -> None:
    sdk.create_vector_bucket("sdk-ix")
    sdk.create_index("sdk-ix", ACCOUNT, "docs", DataType.DataTypeFloat32, 3, DistanceMetricType.DistanceMetricCosine,
                     {"nonFilterableMetadataKeys": ["body"]})
    sdk.create_index("sdk-ix", ACCOUNT, "faq", DataType.DataTypeFloat32, 4, DistanceMetricType.DistanceMetricEuclidean)
    index = sdk.get_index("sdk-ix", ACCOUNT, "docs").index
    assert (index.index_name, index.dimension, index.data_type, index.distance_metric) == (
        "docs", 3, DataType.DataTypeFloat32, DistanceMetricType.DistanceMetricCosine)
    assert index.metadata_configuration.non_filterable_metadata_keys == ["body"]
    assert index.index_trn == f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/sdk-ix/index/docs"
    page = sdk.list_indexes("sdk-ix", ACCOUNT, max_results=1)
    assert [i.index_name for i in page.indexes] == ["docs"] and page.next_token
    rest = sdk.list_indexes("sdk-ix", ACCOUNT, max_results=1, next_token=page.next_token)
    assert [i.index_name for i in rest.indexes] == ["faq"]
    assert [i.index_name for i in sdk.list_indexes("sdk-ix", ACCOUNT, prefix="fa").indexes] == ["faq"]
    server_error(lambda: sdk.create_index("sdk-ix", ACCOUNT, "faq", DataType.DataTypeFloat32, 4,
                                          DistanceMetricType.DistanceMetricEuclidean), 409, "ConflictException")
    server_error(lambda: sdk.create_index("sdk-ix", ACCOUNT, "big", DataType.DataTypeFloat32, 5000,
                                          DistanceMetricType.DistanceMetricEuclidean), 400, "ValidationException")
    server_error(lambda: sdk.create_index("sdk-ix", ACCOUNT, "Bad_Name", DataType.DataTypeFloat32, 4,
                                          DistanceMetricType.DistanceMetricEuclidean), 400, "ValidationException")
    server_error(lambda: sdk.get_index("sdk-ix", ACCOUNT, "nope"), 404, "VectorIndexNotFound")
    server_error(lambda: sdk.get_index("sdk-none", ACCOUNT, "docs"), 404, "VectorBucketNotFound")
    server_error(lambda: sdk.delete_vector_bucket("sdk-ix", ACCOUNT), 409, "ConflictException")
    assert sdk.delete_index("sdk-ix", ACCOUNT, "docs").status_code == 200
    assert sdk.delete_index("sdk-ix", ACCOUNT, "faq").status_code == 200
    server_error(lambda: sdk.delete_index("sdk-ix", ACCOUNT, "faq"), 404, "VectorIndexNotFound")
    assert sdk.list_indexes("sdk-ix", ACCOUNT).indexes == []
    sdk.delete_vector_bucket("sdk-ix", ACCOUNT)


def test_vectors(sdk: EmulatorVectorClient) -> None:
    sdk.create_vector_bucket("sdk-vec")
    sdk.create_index("sdk-vec", ACCOUNT, "idx", DataType.DataTypeFloat32, 5, DistanceMetricType.DistanceMetricEuclidean,
                     {"nonFilterableMetadataKeys": ["body"]})
    vectors = [Vector(key=f"key{i}", data=VectorData(float32=[0.1 * (i + 1)] * 5),
                      metadata={"key_a": "va" if i % 2 == 0 else "vb", "n": i, "body": "text"}) for i in range(10)]
    assert sdk.put_vectors("sdk-vec", ACCOUNT, "idx", vectors).status_code == 200

    got = sdk.get_vectors("sdk-vec", ACCOUNT, "idx", ["key1", "missing", "key0"], return_metadata=True)
    assert [(v.key, v.metadata["n"]) for v in got.vectors] == [("key1", 1), ("key0", 0)]
    bare = sdk.get_vectors("sdk-vec", ACCOUNT, "idx", ["key2"])
    assert [(v.key, v.metadata) for v in bare.vectors] == [("key2", None)]

    # list_vectors takes (bucket, index, account): the SDK's argument-order trap
    pages, token = [], None
    while True:
        page = sdk.list_vectors("sdk-vec", "idx", ACCOUNT, max_results=4, next_token=token, return_metadata=True)
        pages.append([v.key for v in page.vectors])
        token = page.next_token
        if not token:
            break
    assert pages == [[f"key{i}" for i in range(4)], [f"key{i}" for i in range(4, 8)], ["key8", "key9"]]

    hits = sdk.query_vectors("sdk-vec", ACCOUNT, "idx", VectorData(float32=[0.1] * 5), top_k=3,
                             return_distance=True, return_metadata=True).vectors
    assert [h.key for h in hits] == ["key0", "key1", "key2"]
    assert hits[1].distance == pytest.approx(0.05, rel=1e-5) and hits[1].metadata["key_a"] == "vb"
    filtered = sdk.query_vectors("sdk-vec", ACCOUNT, "idx", VectorData(float32=[0.1] * 5), top_k=10,
                                 filter={"$and": [{"key_a": "va"}, {"n": {"$gte": 4}}]}).vectors
    assert [h.key for h in filtered] == ["key4", "key6", "key8"]
    assert all(h.distance is None and h.metadata is None for h in filtered)

    server_error(lambda: sdk.query_vectors("sdk-vec", ACCOUNT, "idx", VectorData(float32=[0.1] * 5),
                                           filter={"body": "text"}), 400, "ValidationException")
    server_error(lambda: sdk.query_vectors("sdk-vec", ACCOUNT, "idx", VectorData(float32=[0.1] * 4)),
                 400, "ValidationException")
    server_error(lambda: sdk.query_vectors("sdk-vec", ACCOUNT, "idx", VectorData(float32=[0.1] * 5), top_k=1001),
                 400, "ValidationException")
    server_error(lambda: sdk.put_vectors("sdk-vec", ACCOUNT, "idx", [Vector(key="short", data=VectorData(float32=[1.0]))]),
                 400, "ValidationException")
    server_error(lambda: sdk.get_vectors("sdk-vec", ACCOUNT, "idx", [f"k{i}" for i in range(101)]),
                 400, "ValidationException")
    server_error(lambda: sdk.get_vectors("sdk-vec", ACCOUNT, "nope", ["key0"]), 404, "VectorIndexNotFound")

    assert sdk.delete_vectors("sdk-vec", ACCOUNT, "idx", [f"key{i}" for i in range(5)]).status_code == 200
    assert [v.key for v in sdk.list_vectors("sdk-vec", "idx", ACCOUNT).vectors] == [f"key{i}" for i in range(5, 10)]
    sdk.delete_index("sdk-vec", ACCOUNT, "idx")
    sdk.delete_vector_bucket("sdk-vec", ACCOUNT)


class BodyRecorder:
    """Keeps the raw JSON body of every response the SDK receives (a requests hook), to see
    what the SDK's parsing hides: a missing `vectors` key and an empty list read the same."""

    def __init__(self, client: EmulatorVectorClient) -> None:
        self.bodies: list[Any] = []
        client.session.hooks.setdefault("response", []).append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.bodies.append(json.loads(response.content) if response.content else None)


def test_query_shapes(server: Any) -> None:
    """Hits carry `data` (the SDK parses data.float32); a query matching nothing answers
    without a `vectors` key, which the SDK reads as no hits (README "Wire protocol" §0)."""
    sdk = sdk_client(server.url)
    recorder = BodyRecorder(sdk)
    try:
        sdk.create_vector_bucket("sdk-shape")
        sdk.create_index("sdk-shape", ACCOUNT, "idx", DataType.DataTypeFloat32, 3,
                         DistanceMetricType.DistanceMetricEuclidean)
        sdk.put_vectors("sdk-shape", ACCOUNT, "idx", [
            Vector(key="a", data=VectorData(float32=[0.1, 0.2, 0.3]), metadata={"g": "x"}),
            Vector(key="b", data=VectorData(float32=[1.0, 1.0, 1.0]), metadata={"g": "y"})])
        hits = sdk.query_vectors("sdk-shape", ACCOUNT, "idx", VectorData(float32=[0.0, 0.0, 0.0]), top_k=2,
                                 return_distance=True).vectors
        assert [(h.key, h.data.float32) for h in hits] == [("a", [0.1, 0.2, 0.3]), ("b", [1.0, 1.0, 1.0])]
        assert hits[0].distance == pytest.approx(0.14, rel=1e-6) and hits[0].metadata is None
        none = sdk.query_vectors("sdk-shape", ACCOUNT, "idx", VectorData(float32=[0.0, 0.0, 0.0]), top_k=2,
                                 filter={"g": "nothing"})
        assert none.vectors == [] and recorder.bodies[-1] == {}
        sdk.delete_index("sdk-shape", ACCOUNT, "idx")
        sdk.delete_vector_bucket("sdk-shape", ACCOUNT)
    finally:
        sdk.close()


def test_int8_indexes(server: Any) -> None:
    """The SDK's own int8: DataType.DataTypeInt8 and VectorData(int8=...), end to end."""
    sdk = sdk_client(server.url)
    recorder = BodyRecorder(sdk)
    try:
        sdk.create_vector_bucket("sdk-int8")
        sdk.create_index("sdk-int8", ACCOUNT, "ix-int8", DataType.DataTypeInt8, 4,
                         DistanceMetricType.DistanceMetricEuclidean, {"nonFilterableMetadataKeys": ["body"]})
        sdk.create_index("sdk-int8", ACCOUNT, "ix-f32", DataType.DataTypeFloat32, 4,
                         DistanceMetricType.DistanceMetricEuclidean)
        index = sdk.get_index("sdk-int8", ACCOUNT, "ix-int8").index
        assert (index.data_type, index.dimension) == (DataType.DataTypeInt8, 4)
        rows = {"lo": [-128, -128, 0, 1], "hi": [127, 127, 0, -1], "mid": [3, -4, 5, -6], "zero": [0, 0, 0, 0]}
        assert sdk.put_vectors("sdk-int8", ACCOUNT, "ix-int8", [
            Vector(key=k, data=VectorData(int8=v), metadata={"n": i}) for i, (k, v) in enumerate(rows.items())
        ]).status_code == 200
        sdk.put_vectors("sdk-int8", ACCOUNT, "ix-f32", [Vector(key=k, data=VectorData(float32=[float(x) for x in v]))
                                                     for k, v in rows.items()])

        got = sdk.get_vectors("sdk-int8", ACCOUNT, "ix-int8", ["mid", "lo"], return_metadata=True)
        assert [(v.key, v.metadata) for v in got.vectors] == [("mid", {"n": 2}), ("lo", {"n": 0})]
        listed = sdk.list_vectors("sdk-int8", "ix-int8", ACCOUNT)
        assert sorted(v.key for v in listed.vectors) == sorted(rows)

        query = [2, -3, 4, -5]
        hits = sdk.query_vectors("sdk-int8", ACCOUNT, "ix-int8", VectorData(int8=query), top_k=4, return_distance=True)
        same = sdk.query_vectors("sdk-int8", ACCOUNT, "ix-f32", VectorData(float32=[float(x) for x in query]), top_k=4,
                                 return_distance=True)
        assert [(h.key, h.distance) for h in hits.vectors] == [(h.key, h.distance) for h in same.vectors]
        assert [h.key for h in hits.vectors] == ["mid", "zero", "hi", "lo"]  # 32557 < 32577
        assert hits.vectors[0].distance == pytest.approx(4.0)  # (1 + 1 + 1 + 1): int8 distances as for float32
        # the SDK parses only data.float32; the wire carries the int8 values themselves
        assert recorder.bodies[-2]["vectors"][0]["data"] == {"int8": rows["mid"]}
        filtered = sdk.query_vectors("sdk-int8", ACCOUNT, "ix-int8", VectorData(int8=query), top_k=4,
                                     filter={"n": {"$in": [0, 1]}}).vectors
        assert [h.key for h in filtered] == ["hi", "lo"]

        for call, field in [
            (lambda: sdk.put_vectors("sdk-int8", ACCOUNT, "ix-int8", [Vector(key="x", data=VectorData(float32=[1.0] * 4))]),
             "vectors[0].data.float32 is float32 data but index 'ix-int8' has dataType int8"),
            (lambda: sdk.put_vectors("sdk-int8", ACCOUNT, "ix-f32", [Vector(key="x", data=VectorData(int8=[1] * 4))]),
             "vectors[0].data.int8 is int8 data but index 'ix-f32' has dataType float32"),
            (lambda: sdk.put_vectors("sdk-int8", ACCOUNT, "ix-int8", [Vector(key="x", data=VectorData(int8=[1, 2, 128, 0]))]),
             "vectors[0].data.int8[2] must be an integer between -128 and 127, got 128"),
            (lambda: sdk.put_vectors("sdk-int8", ACCOUNT, "ix-int8", [Vector(key="x", data=VectorData(int8=[1, -129, 0, 0]))]),
             "vectors[0].data.int8[1] must be an integer between -128 and 127, got -129"),
            (lambda: sdk.query_vectors("sdk-int8", ACCOUNT, "ix-int8", VectorData(float32=[1.0] * 4)),
             "queryVector.float32 is float32 data but index 'ix-int8' has dataType int8"),
            (lambda: sdk.query_vectors("sdk-int8", ACCOUNT, "ix-int8", VectorData(int8=[1, 2, 3, 300])),
             "queryVector.int8[3] must be an integer between -128 and 127, got 300"),
            (lambda: sdk.query_vectors("sdk-int8", ACCOUNT, "ix-f32", VectorData(int8=[1, 2, 3, 4])),
             "queryVector.int8 is int8 data but index 'ix-f32' has dataType float32"),
        ]:
            assert field in server_error(call, 400, "ValidationException").message
        assert sorted(v.key for v in sdk.list_vectors("sdk-int8", "ix-int8", ACCOUNT).vectors) == sorted(rows)  # unchanged
        for name in ("ix-int8", "ix-f32"):
            sdk.delete_index("sdk-int8", ACCOUNT, name)
        sdk.delete_vector_bucket("sdk-int8", ACCOUNT)
    finally:
        sdk.close()


def test_sdk_signatures_are_verified(tmp_path: Path) -> None:
    with running_emulator(tmp_path, "--access-key", AK, "--secret-key", SK) as emu:
        good, sts = sdk_client(emu.url, AK, SK), sdk_client(emu.url, AK, SK, security_token="STS-TOKEN")
        wrong, stranger, anonymous = sdk_client(emu.url, AK, "wrong"), sdk_client(emu.url, "AKLTother", SK), \
            sdk_client(emu.url)
        try:
            good.create_vector_bucket("signed")
            good.create_index("signed", ACCOUNT, "idx", "float32", 2, "cosine")
            good.put_vectors("signed", ACCOUNT, "idx", [Vector(key="a", data=VectorData(float32=[1.0, 0.0]))])
            assert [h.key for h in sts.query_vectors("signed", ACCOUNT, "idx", VectorData(float32=[1.0, 0.1])).vectors] \
                == ["a"]
            assert [b.vector_bucket_name for b in sts.list_vector_buckets().vector_buckets] == ["signed"]
            for client in (wrong, stranger, anonymous):
                server_error(partial(client.get_vector_bucket, "signed", ACCOUNT), 403, "AccessDeniedException")
                server_error(partial(client.create_vector_bucket, "intruder"), 403, "AccessDeniedException")
            assert [b.vector_bucket_name for b in good.list_vector_buckets().vector_buckets] == ["signed"]
        finally:
            for client in (good, sts, wrong, stranger, anonymous):
                client.close()
        assert SK not in emu.stderr_text()


def test_injected_faults_reach_the_sdk_as_server_errors(tmp_path: Path) -> None:
    with running_emulator(tmp_path, "--fault-rate", "1") as emu:
        client = sdk_client(emu.url)
        try:
            seen = set()
            for _ in range(30):
                with pytest.raises(TosServerError) as info:
                    client.list_vector_buckets()
                seen.add((info.value.status_code, info.value.code))
                assert info.value.request_id
        finally:
            client.close()
    assert seen == {(429, "TooManyRequestsException"), (503, "ServiceUnavailableException"),
                    (500, "InternalServerException")}


def test_a_policy_the_manifest_would_refuse_is_a_400_naming_the_key(sdk: EmulatorVectorClient) -> None:
    """Issue 17: `"Effect": "deny"` was stored, exported as is, and the export failed validation."""
    sdk.create_vector_bucket("sdk-pol")
    statement = {"Effect": "Allow", "Principal": ["2100000001"], "Action": ["tosvectors:GetIndex"],
                 "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/sdk-pol"]}
    for bad, fragment in (({"Effect": "deny"}, "Statement[0].Effect must be \"Allow\" or \"Deny\""),
                          ({"Action": ["s3:GetObject"]}, "Statement[0].Action[0]: 's3:GetObject' is not a TOS Vectors"),
                          ({"Efect": "Allow"}, "Statement[0] has the unknown key 'Efect'")):
        policy = json.dumps({"Version": "2025-12-01", "Statement": [{**statement, **bad}]})
        e = server_error(lambda: sdk.put_vector_bucket_policy("sdk-pol", ACCOUNT, policy), 400, "ValidationException")
        assert fragment in e.message, e.message
    e = server_error(lambda: sdk.put_vector_bucket_policy("sdk-pol", ACCOUNT, json.dumps({"Statement": [statement]})),
                     400, "ValidationException")
    assert "policy must have a Version" in e.message
    server_error(lambda: sdk.get_vector_bucket_policy("sdk-pol", ACCOUNT), 404, "VectorBucketPolicyNotFound")
    good = json.dumps({"Version": "2025-12-01", "Statement": [statement]})
    sdk.put_vector_bucket_policy("sdk-pol", ACCOUNT, good)
    assert sdk.get_vector_bucket_policy("sdk-pol", ACCOUNT).policy == good
    sdk.delete_vector_bucket_policy("sdk-pol", ACCOUNT)
    sdk.delete_vector_bucket("sdk-pol", ACCOUNT)
