"""int8 indexes and the numbers QueryVectors writes: through the API, in-process and over HTTP."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.emulator.responses import float32_json
from tests.emulator.helpers import Api


def _strict_json(text: str) -> Any:
    """json.loads that refuses NaN / Infinity, which Python's parser accepts by default."""
    def refuse(name: str) -> Any:
        raise AssertionError(f"the answer holds {name}, which is not JSON: {text[:200]}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_int8_index_stores_and_searches_like_float32_on_the_same_values(api: Api, unique: Any, metric: str) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(-128, 128, size=(60, 8))
    values[0] = [-128, 127, 0, 1, -1, 127, -128, 5]  # the ends of the range
    values[values.sum(axis=1) == 0, 0] = 1  # no zero vector (a 400 on cosine)
    bucket = api.bucket(unique(f"int8-{metric[:3]}"))
    api.index(bucket, "int8", dimension=8, metric=metric, data_type="int8")
    api.index(bucket, "float32", dimension=8, metric=metric)
    keys = [f"k{i:02d}" for i in range(len(values))]
    api.put(bucket, "int8", [{"key": k, "data": {"int8": row.tolist()}} for k, row in zip(keys, values, strict=True)])
    api.put(bucket, "float32", [{"key": k, "data": {"float32": row.tolist()}} for k, row in zip(keys, values, strict=True)])

    assert api.ok("GetIndex", {"vectorBucketName": bucket, "indexName": "int8"})["index"]["dataType"] == "int8"
    got = api.ok("GetVectors", {"vectorBucketName": bucket, "indexName": "int8", "keys": keys[:2], "returnData": True})
    assert got["vectors"] == [{"key": k, "data": {"int8": values[i].tolist()}} for i, k in enumerate(keys[:2])]
    assert all(type(x) is int for x in got["vectors"][0]["data"]["int8"])
    listed = api.ok("ListVectors", {"vectorBucketName": bucket, "indexName": "int8", "returnData": True})["vectors"]
    assert [v["data"] for v in listed] == [{"int8": row.tolist()} for row in values]

    for query in ([3, -7, 127, -128, 0, 0, 9, 1], values[5].tolist()):
        as_int8 = api.query(bucket, "int8", query, top_k=15, data_type="int8", returnDistance=True, with_data=True)
        as_f32 = api.query(bucket, "float32", query, top_k=15, returnDistance=True)
        assert [(h["key"], h["distance"]) for h in as_int8] == [(h["key"], h["distance"]) for h in as_f32]
        assert all(h["data"] == {"int8": values[keys.index(h["key"])].tolist()} for h in as_int8)


def test_hits_carry_their_stored_data_and_no_match_has_no_vectors_key(asgi: Api) -> None:
    asgi.bucket("shape")
    asgi.index("shape", "idx", dimension=3)
    asgi.put("shape", "idx", [{"key": "a", "data": {"float32": [0.1, 0.2, 0.3]}, "metadata": {"g": "x"}},
                              {"key": "b", "data": {"float32": [1.5, -2.0, 1e-7]}}])
    hits = asgi.query("shape", "idx", [0.0, 0.0, 0.0], with_data=True)
    assert hits == [{"key": "a", "data": {"float32": [0.1, 0.2, 0.3]}},
                    {"key": "b", "data": {"float32": [1.5, -2.0, 1e-7]}}]
    body = {"vectorBucketName": "shape", "indexName": "idx", "topK": 5, "queryVector": {"float32": [0, 0, 0]},
            "filter": {"g": "nothing has this"}}
    assert asgi.ok("QueryVectors", body) == {}
    asgi.ok("DeleteVectors", {"vectorBucketName": "shape", "indexName": "idx", "keys": ["a", "b"]})
    assert asgi.ok("QueryVectors", {**body, "filter": None}) == {}  # an empty index: no key either


def test_cosine_is_right_for_tiny_and_huge_vectors(api: Api, unique: Any) -> None:
    """Norms in float32 underflow for [1e-30, 0] and overflow for [3e38, 3e38]: both gave 1.0."""
    bucket = api.bucket(unique("cos-extreme"))
    api.index(bucket, "idx", dimension=2, metric="cosine")
    api.put(bucket, "idx", [{"key": "tiny", "data": {"float32": [1e-30, 0.0]}},
                            {"key": "huge", "data": {"float32": [3e38, 3e38]}},
                            {"key": "sub", "data": {"float32": [0.0, 1e-45]}}])  # a float32 subnormal
    got = {h["key"]: h["distance"] for h in api.query(bucket, "idx", [1.0, 0.0], returnDistance=True)}
    assert got["tiny"] == pytest.approx(0.0, abs=1e-6)
    assert got["huge"] == pytest.approx(1 - 2 ** -0.5, abs=1e-6)
    assert got["sub"] == pytest.approx(1.0, abs=1e-6)
    # a tiny query is a direction too (its float32 norm is 0: it answered NaN)
    got = {h["key"]: h["distance"] for h in api.query(bucket, "idx", [1e-30, 1e-30], returnDistance=True)}
    assert got == pytest.approx({"tiny": 1 - 2 ** -0.5, "huge": 0.0, "sub": 1 - 2 ** -0.5}, abs=1e-6)


def test_no_answer_ever_holds_nan_or_infinity(asgi: Api) -> None:
    asgi.bucket("nan")
    asgi.index("nan", "euc", dimension=2)
    asgi.index("nan", "cos", dimension=2, metric="cosine")
    huge = [{"key": "p", "data": {"float32": [3.4e38, 3.4e38]}}, {"key": "n", "data": {"float32": [-3.4e38, -3.4e38]}},
            {"key": "z", "data": {"float32": [1e-45, 0.0]}}]
    asgi.put("nan", "euc", huge)
    asgi.put("nan", "cos", huge)
    for index, query in (("euc", [-3.4e38, -3.4e38]), ("euc", [3.4e38, -3.4e38]), ("cos", [1e-45, 1e-45]),
                         ("cos", [-3.4e38, 1e-45])):
        body = {"vectorBucketName": "nan", "indexName": index, "topK": 3, "returnDistance": True,
                "queryVector": {"float32": query}}
        r = asgi.call("QueryVectors", body)
        assert r.status_code == 200, r.text
        hits = _strict_json(r.text)["vectors"]
        assert len(hits) == 3 and all(np.isfinite(h["distance"]) for h in hits)
    r = asgi.call("QueryVectors", {"vectorBucketName": "nan", "indexName": "euc", "topK": 3, "returnDistance": True,
                                   "queryVector": {"float32": [-3.4e38, -3.4e38]}})
    hits = _strict_json(r.text)["vectors"]
    # nearest first, and the far one is the float64 value of a distance float32 cannot hold: 2 * (6.8e38)^2
    assert [h["key"] for h in hits] == ["n", "z", "p"]
    far = 2 * (2 * float(np.float32(3.4e38))) ** 2
    assert hits[2]["distance"] == pytest.approx(far, rel=1e-12)


@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=50))
def test_float32_json_is_the_shortest_decimal_that_reads_back(values: list[float]) -> None:
    array = np.asarray(values, dtype=np.float32)
    out = float32_json(array)
    assert np.array_equal(np.asarray(out, dtype=np.float32), array)  # exact, -0.0 included
    assert [np.signbit(x) for x in out] == np.signbit(array).tolist()
    for x, y in zip(array, out, strict=True):
        # no longer than numpy's shortest round-trip repr of the float32
        assert len(repr(y).replace("e-0", "e-").lstrip("-").replace(".0", "")) <= \
            len(repr(float(str(x))).replace("e-0", "e-").lstrip("-").replace(".0", "")) + 1


def test_a_tiny_cosine_query_ranks_as_its_direction(api: Api, unique: Any) -> None:
    """Issue 17: `[1e-30, 0, 0, 0]`, whose squared norm underflows float32, must answer the
    order of its direction, with the contract's float32 distances (README "Wire protocol" §0); a float32
    norm made it NaN and the order arbitrary. Scaled by 1e-42 (float32 subnormals: a
    coarser direction, checked against its own) and 1e30 the same."""
    bucket = api.bucket(unique("cos-tiny"))
    api.index(bucket, "idx", dimension=4, metric="cosine")
    rng = np.random.default_rng(17)
    rows = rng.standard_normal((40, 4)).astype(np.float32)
    api.put(bucket, "idx", [{"key": f"k{i:02d}", "data": {"float32": [float(x) for x in row]}}
                            for i, row in enumerate(rows)])
    rows64 = rows.astype(np.float64)
    units = rows64 / np.linalg.norm(rows64, axis=1)[:, None]
    for direction in ([1.0, 0.0, 0.0, 0.0], [0.3, -0.2, 0.9, 0.1]):
        for scale in (1.0, 1e-30, 1e-42, 1e30):
            query = np.asarray([x * scale for x in direction], dtype=np.float32)
            q64 = query.astype(np.float64)
            expected = 1 - units @ (q64 / np.linalg.norm(q64))  # the float64 reference
            order = np.argsort(expected, kind="stable")[:10]
            hits = api.query(bucket, "idx", [float(x) for x in query], top_k=10, returnDistance=True)
            assert [h["key"] for h in hits] == [f"k{i:02d}" for i in order], (direction, scale)
            for hit, i in zip(hits, order, strict=True):
                assert hit["distance"] == pytest.approx(expected[i], abs=1e-6), (direction, scale)
                assert float(str(np.float32(hit["distance"]))) == hit["distance"]  # a float32, shortest form
