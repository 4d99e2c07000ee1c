"""QueryVectors: exact float32 top-K against a numpy reference, and the matrix cache."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from reconciler.emulator.search import VectorSearch
from reconciler.emulator.store import Store
from tests.emulator.helpers import Api


def _reference(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """Distances the slow obvious way, in float32."""
    if metric == "euclidean":
        return np.array([np.sum((row - query) ** 2, dtype=np.float32) for row in matrix], dtype=np.float32)
    return np.array([np.float32(1) - np.dot(row, query) / (np.linalg.norm(row) * np.linalg.norm(query))
                     for row in matrix], dtype=np.float32)


def _load(api: Api, bucket: str, metric: str, matrix: np.ndarray, metadata: bool = False) -> list[str]:
    api.bucket(bucket)
    api.index(bucket, "idx", dimension=matrix.shape[1], metric=metric)
    keys = [f"v{i:04d}" for i in range(len(matrix))]
    api.put(bucket, "idx", [{"key": k, "data": {"float32": row.tolist()},
                             **({"metadata": {"i": i}} if metadata else {})}
                            for i, (k, row) in enumerate(zip(keys, matrix, strict=True))])
    return keys


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_top_k_matches_numpy(api: Api, unique: Any, metric: str) -> None:
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(300, 16)).astype(np.float32)
    bucket = unique(f"knn-{metric[:3]}")
    keys = _load(api, bucket, metric, matrix)
    for _ in range(3):
        query = rng.normal(size=16).astype(np.float32)
        expected = _reference(matrix, query, metric)
        order = np.lexsort((np.arange(len(keys)), expected))[:25]
        got = api.query(bucket, "idx", query.tolist(), top_k=25, returnDistance=True)
        assert [g["key"] for g in got] == [keys[i] for i in order]
        np.testing.assert_allclose([g["distance"] for g in got], expected[order], rtol=2e-6, atol=2e-6)
        plain = api.query(bucket, "idx", query.tolist(), top_k=3)
        assert plain == [{"key": keys[i]} for i in order[:3]]  # no distance, no metadata keys at all


def test_reference_example_distance(asgi: Api) -> None:
    """The reference's QueryVectors example: [0.1]*5 against [0.2]*5 is 0.050000004."""
    asgi.bucket("ref")
    asgi.index("ref", "idx", dimension=5)
    asgi.put("ref", "idx", [{"key": "key1", "data": {"float32": [0.2] * 5}, "metadata": {"key_a": "va"}}])
    got = asgi.query("ref", "idx", [0.1] * 5, returnDistance=True, returnMetadata=True)
    assert got == [{"key": "key1", "distance": 0.050000004, "metadata": {"key_a": "va"}}]


def test_euclidean_is_exact_where_the_expansion_would_cancel(asgi: Api) -> None:
    """Large, nearly equal vectors: |x|^2 - 2x.q + |q|^2 in float32 would rank them wrongly."""
    base = np.full(64, 1000.0, dtype=np.float32)
    rows = [base + np.float32(d) * np.eye(64, dtype=np.float32)[0] for d in (0.5, 0.25, 1.0, 0.125)]
    asgi.bucket("exact")
    asgi.index("exact", "idx", dimension=64)
    asgi.put("exact", "idx", [{"key": f"k{i}", "data": {"float32": r.tolist()}} for i, r in enumerate(rows)])
    got = asgi.query("exact", "idx", base.tolist(), top_k=4, returnDistance=True)
    assert [g["key"] for g in got] == ["k3", "k1", "k0", "k2"]
    assert [g["distance"] for g in got] == [0.015625, 0.0625, 0.25, 1.0]


def test_top_k_larger_than_the_index_and_ties_by_key(asgi: Api) -> None:
    asgi.bucket("ties")
    asgi.index("ties", "idx", dimension=2, metric="cosine")
    asgi.put("ties", "idx", [{"key": k, "data": {"float32": [1, 1]}} for k in ("c", "a", "b")]
             + [{"key": "far", "data": {"float32": [1, -1]}}])
    got = asgi.query("ties", "idx", [2, 2], top_k=1000, returnDistance=True)
    assert [g["key"] for g in got] == ["a", "b", "c", "far"]
    assert got[0]["distance"] == pytest.approx(0.0, abs=1e-6) and got[3]["distance"] == pytest.approx(1.0)


def test_returned_metadata_only_when_asked_and_never_null(asgi: Api) -> None:
    asgi.bucket("meta")
    asgi.index("meta", "idx", dimension=2)
    asgi.put("meta", "idx", [{"key": "with", "data": {"float32": [0, 0]}, "metadata": {"a": 1}},
                             {"key": "without", "data": {"float32": [1, 1]}}])
    got = asgi.query("meta", "idx", [0, 0], returnMetadata=True)
    assert got == [{"key": "with", "metadata": {"a": 1}}, {"key": "without"}]


def test_queries_see_every_write(asgi: Api) -> None:
    """The cached matrix is rebuilt after PutVectors, overwrites and DeleteVectors."""
    asgi.bucket("cache")
    asgi.index("cache", "idx", dimension=2)
    ref = {"vectorBucketName": "cache", "indexName": "idx"}
    assert asgi.query("cache", "idx", [0, 0]) == []
    asgi.put("cache", "idx", [{"key": "a", "data": {"float32": [5, 5]}}])
    assert asgi.query("cache", "idx", [0, 0]) == [{"key": "a"}]
    asgi.put("cache", "idx", [{"key": "b", "data": {"float32": [1, 1]}}])
    assert [g["key"] for g in asgi.query("cache", "idx", [0, 0])] == ["b", "a"]
    asgi.put("cache", "idx", [{"key": "a", "data": {"float32": [0, 0]}}])
    assert [g["key"] for g in asgi.query("cache", "idx", [0, 0])] == ["a", "b"]
    asgi.ok("DeleteVectors", {**ref, "keys": ["a"]})
    assert asgi.query("cache", "idx", [0, 0]) == [{"key": "b"}]
    asgi.ok("DeleteIndex", ref)
    asgi.index("cache", "idx", dimension=3)
    asgi.put("cache", "idx", [{"key": "new", "data": {"float32": [1, 2, 3]}}])
    assert asgi.query("cache", "idx", [1, 2, 3], returnDistance=True) == [{"key": "new", "distance": 0.0}]


def test_search_caches_the_matrix_until_the_version_changes(tmp_path: Any) -> None:
    store = Store(tmp_path)
    store.create_bucket("1", "b", 0)
    store.create_index("1", "b", "i", data_type="float32", dimension=4, distance_metric="cosine",
                       non_filterable=(), now=0)
    index = store.get_index("1", "b", "i")
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(50, 4)).astype(np.float32)
    store.put_vectors(index, [(f"k{i}", r.tobytes(), None) for i, r in enumerate(rows)])
    search = VectorSearch(store)
    loads = 0
    original = store.load_vectors

    def counting(ix: Any) -> Any:
        nonlocal loads
        loads += 1
        return original(ix)

    store.load_vectors = counting  # type: ignore[method-assign,assignment]
    for _ in range(5):
        search.query(index, rows[0], 3)
    assert loads == 1
    store.put_vectors(index, [("extra", rows[1].tobytes(), None)])
    assert search.query(index, rows[1], 2)[0][0] in ("extra", "k1")
    assert loads == 2
    store.close()


def test_two_apps_on_one_data_dir_see_each_others_writes(tmp_path: Any) -> None:
    """The cache is keyed by the index version in SQLite, so another process's writes show."""
    from reconciler.emulator import EmulatorConfig
    from tests.emulator.helpers import asgi_api

    first, first_post = asgi_api(EmulatorConfig(data_dir=tmp_path))
    second, second_post = asgi_api(EmulatorConfig(data_dir=tmp_path))
    try:
        first.bucket("shared")
        first.index("shared", "idx", dimension=2)
        first.put("shared", "idx", [{"key": "a", "data": {"float32": [1.0, 1.0]}, "metadata": {"m": 1}}])
        assert second.query("shared", "idx", [1.0, 1.0], filter={"m": 1}) == [{"key": "a"}]
        second.put("shared", "idx", [{"key": "b", "data": {"float32": [1.0, 1.0]}, "metadata": {"m": 1}}])
        assert first.query("shared", "idx", [1.0, 1.0], filter={"m": 1}) == [{"key": "a"}, {"key": "b"}]
        second.ok("DeleteIndex", {"vectorBucketName": "shared", "indexName": "idx"})
        first.err("QueryVectors", {"vectorBucketName": "shared", "indexName": "idx", "topK": 1,
                                   "queryVector": {"float32": [1.0, 1.0]}}, 404, "VectorIndexNotFound")
    finally:
        first_post.close()
        second_post.close()
