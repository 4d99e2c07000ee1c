"""The public surface of reconciler.client is exactly these names."""

from __future__ import annotations

import inspect

import reconciler.client as client_pkg
from reconciler.client import VectorsClient

EXPORTED = {
    "VectorsClient", "Credentials", "RetryPolicy", "Page", "VectorBucket", "VectorBucketSummary",
    "Index", "IndexSummary", "Vector", "QueryMatch", "DataType", "VectorData",
}


def test_all_is_exactly_the_public_api():
    assert set(client_pkg.__all__) == EXPORTED
    assert len(client_pkg.__all__) == len(EXPORTED)
    for name in EXPORTED:
        assert getattr(client_pkg, name).__module__.startswith("reconciler.client.")


def test_client_methods_and_signatures():
    expected = {
        "create_vector_bucket": "(self, bucket: 'str') -> 'None'",
        "get_vector_bucket": "(self, bucket: 'str') -> 'VectorBucket'",
        "list_vector_buckets": "(self, *, prefix: 'str | None' = None, max_results: 'int | None' = None, "
                               "next_token: 'str | None' = None) -> 'Page[VectorBucketSummary]'",
        "all_vector_buckets": "(self, *, prefix: 'str | None' = None) -> 'list[VectorBucketSummary]'",
        "delete_vector_bucket": "(self, bucket: 'str') -> 'None'",
        "put_vector_bucket_policy": "(self, bucket: 'str', policy: 'str') -> 'None'",
        "get_vector_bucket_policy": "(self, bucket: 'str') -> 'str'",
        "delete_vector_bucket_policy": "(self, bucket: 'str') -> 'None'",
        "create_index": "(self, bucket: 'str', index: 'str', *, dimension: 'int', distance_metric: 'str', "
                        "data_type: 'str' = 'float32', non_filterable_metadata_keys: 'Sequence[str] | None' = None)"
                        " -> 'None'",
        "get_index": "(self, bucket: 'str', index: 'str') -> 'Index'",
        "list_indexes": "(self, bucket: 'str', *, prefix: 'str | None' = None, max_results: 'int | None' = None, "
                        "next_token: 'str | None' = None) -> 'Page[IndexSummary]'",
        "all_indexes": "(self, bucket: 'str', *, prefix: 'str | None' = None) -> 'list[IndexSummary]'",
        "delete_index": "(self, bucket: 'str', index: 'str') -> 'None'",
        "put_vectors": "(self, bucket: 'str', index: 'str', vectors: 'Sequence[Vector]') -> 'None'",
        "get_vectors": "(self, bucket: 'str', index: 'str', keys: 'Sequence[str]', *, return_data: 'bool' = False, "
                       "return_metadata: 'bool' = False) -> 'list[Vector]'",
        "delete_vectors": "(self, bucket: 'str', index: 'str', keys: 'Sequence[str]') -> 'None'",
        "list_vectors": "(self, bucket: 'str', index: 'str', *, max_results: 'int | None' = None, "
                        "next_token: 'str | None' = None, return_data: 'bool' = False, "
                        "return_metadata: 'bool' = False) -> 'Page[Vector]'",
        "all_vectors": "(self, bucket: 'str', index: 'str', *, return_data: 'bool' = False, "
                       "return_metadata: 'bool' = False) -> 'list[Vector]'",
        "query_vectors": "(self, bucket: 'str', index: 'str', query: 'Sequence[float] | VectorData', *, top_k: 'int' = 10, "
                         "filter: 'dict[str, Any] | None' = None, return_distance: 'bool' = False, "
                         "return_metadata: 'bool' = False) -> 'list[QueryMatch]'",
    }
    for name, sig in expected.items():
        method = getattr(VectorsClient, name)
        assert inspect.iscoroutinefunction(method), name
        assert str(inspect.signature(method)) == sig, name
    public = {n for n, v in vars(VectorsClient).items() if not n.startswith("_") and callable(v)}
    # not calls: the service's time as its latest answer said it (prune.olderThan), and this machine's
    assert str(inspect.signature(VectorsClient.service_time)) == "(self) -> 'datetime | None'"
    assert str(inspect.signature(VectorsClient.local_time)) == "(self) -> 'datetime'"
    assert public == set(expected) | {"aclose", "service_time", "local_time"}


def test_constructor_keywords():
    params = inspect.signature(VectorsClient).parameters
    assert list(params)[:11] == [
        "region", "endpoint", "account_id", "credentials", "transport", "sender", "retry", "timeout",
        "max_connections", "max_rps", "clock",
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert params["region"].default == "cn-beijing" and params["max_connections"].default == 64
    assert params["timeout"].default == 30.0 and params["max_rps"].default is None
