"""The all_* helpers walk nextToken until it is absent or empty."""

from __future__ import annotations

import pytest
from client_fakes import FakeServer, ok

from reconciler.client import IndexSummary, Vector, VectorBucketSummary
from reconciler.errors import ApiError

pytestmark = pytest.mark.anyio


def bucket(name: str) -> dict:
    return {"vectorBucketName": name, "vectorBucketTrn": f"trn:{name}", "creationTime": 1}


async def test_all_vector_buckets_walks_every_page(client, server: FakeServer):
    server.queue(
        ok({"vectorBuckets": [bucket("rag-a"), bucket("rag-b")], "nextToken": "t1"}),
        ok({"vectorBuckets": [bucket("rag-c")], "nextToken": "t2"}),
        ok({"vectorBuckets": []}),
    )
    async with client:
        got = await client.all_vector_buckets(prefix="rag-")
    assert [b.name for b in got] == ["rag-a", "rag-b", "rag-c"]
    assert isinstance(got[0], VectorBucketSummary)
    assert server.bodies() == [  # the largest page the service allows: fewer round trips
        {"prefix": "rag-", "maxResults": 500},
        {"prefix": "rag-", "nextToken": "t1", "maxResults": 500},
        {"prefix": "rag-", "nextToken": "t2", "maxResults": 500},
    ]


async def test_all_indexes_stops_on_empty_token(client, server: FakeServer):
    server.queue(
        ok({"indexes": [{"indexName": "i1", "creationTime": 5}], "nextToken": "n"}),
        ok({"indexes": [{"indexName": "i2"}], "nextToken": ""}),
    )
    async with client:
        got = await client.all_indexes("my-bucket")
    assert got == [IndexSummary("my-bucket", "i1", "", 5), IndexSummary("my-bucket", "i2", "", 0)]
    assert [b.get("nextToken") for b in server.bodies()] == [None, "n"]
    assert [b["maxResults"] for b in server.bodies()] == [500, 500]


async def test_all_vectors_passes_flags_on_every_page(client, server: FakeServer):
    server.queue(
        ok({"vectors": [{"key": "a", "metadata": {"x": 1}}], "nextToken": "p2"}),
        ok({"vectors": [{"key": "b"}]}),
    )
    async with client:
        got = await client.all_vectors("my-bucket", "idx", return_metadata=True)
    assert got == [Vector("a", None, {"x": 1}), Vector("b")]
    assert server.bodies() == [
        {"indexName": "idx", "vectorBucketName": "my-bucket", "returnMetadata": True},
        {"indexName": "idx", "vectorBucketName": "my-bucket", "nextToken": "p2", "returnMetadata": True},
    ]


async def test_single_empty_page(client, server: FakeServer):
    server.queue(ok({}))
    async with client:
        assert await client.all_vector_buckets() == []
    assert len(server.requests) == 1


async def test_a_token_that_does_not_advance_is_an_error(client, server: FakeServer):
    server.default = ok({"indexes": [{"indexName": "i1"}], "nextToken": "same"})
    async with client:
        with pytest.raises(ApiError, match="pagination did not advance"):
            await client.all_indexes("my-bucket")
    assert len(server.requests) == 2
