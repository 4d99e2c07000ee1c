"""Our client drives every action against the emulator: in-process (the CLI's embedded
sender, and httpx's ASGI transport; no socket) and over HTTP (`reconciler serve`, with
signatures checked)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from reconciler.cli.inprocess import embedded_sender
from reconciler.client import Credentials, RetryPolicy, Vector, VectorsClient
from tests.support.embedded import embedded_transport
from reconciler.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from tests.support.emulator import ACCOUNT, running_emulator

AK, SK = "AKLTclientEmulatorTest", "client-emulator-secret"
Factory = Callable[..., VectorsClient]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("served")
    with running_emulator(data, "--access-key", AK, "--secret-key", SK) as emu:
        yield emu.url


@pytest.fixture(params=["in-process", "httpx-asgi", "http"])
def make_client(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """A factory of clients for one emulator; each test uses its own bucket names."""
    if request.param == "in-process":
        def factory(**kw: object) -> VectorsClient:
            return VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT,
                                 sender=embedded_sender(tmp_path / "embedded"), **kw)  # type: ignore[arg-type]
    elif request.param == "httpx-asgi":
        def factory(**kw: object) -> VectorsClient:
            return VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT,
                                 transport=embedded_transport(tmp_path / "embedded"), **kw)  # type: ignore[arg-type]
    else:
        url = request.getfixturevalue("server")

        def factory(**kw: object) -> VectorsClient:
            kw.setdefault("credentials", Credentials(AK, SK))
            return VectorsClient(endpoint=url, account_id=ACCOUNT, **kw)  # type: ignore[arg-type]
    factory.mode = request.param  # type: ignore[attr-defined]
    return factory


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def unique(make_client: Factory, name: str) -> str:
    return f"{name}-{make_client.mode[0]}"  # type: ignore[attr-defined]


def test_every_action_round_trips(make_client: Factory) -> None:
    bucket = unique(make_client, "every-action")

    async def go() -> None:
        async with make_client() as c:
            await c.create_vector_bucket(bucket)
            got = await c.get_vector_bucket(bucket)
            assert got.name == bucket and got.trn == f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{bucket}"
            assert bucket in [b.name for b in await c.all_vector_buckets(prefix=bucket[:8])]

            policy = json.dumps({"Version": "2025-12-01", "Statement": []})
            await c.put_vector_bucket_policy(bucket, policy)
            assert await c.get_vector_bucket_policy(bucket) == policy  # byte for byte
            await c.delete_vector_bucket_policy(bucket)
            with pytest.raises(NotFoundError):
                await c.get_vector_bucket_policy(bucket)

            await c.create_index(bucket, "docs", dimension=3, distance_metric="cosine",
                                 non_filterable_metadata_keys=["body"])
            idx = await c.get_index(bucket, "docs")
            assert (idx.dimension, idx.distance_metric, idx.data_type) == (3, "cosine", "float32")
            assert idx.non_filterable_metadata_keys == ("body",)
            assert [i.name for i in await c.all_indexes(bucket)] == ["docs"]

            await c.put_vectors(bucket, "docs", [
                Vector("a", [1.0, 0.0, 0.0], {"kind": "x", "body": "long text"}),
                Vector("b", [0.0, 1.0, 0.0], {"kind": "y"}),
                Vector("c", [0.9, 0.1, 0.0], {"kind": "x"}),
            ])
            got_vectors = await c.get_vectors(bucket, "docs", ["a", "missing"], return_metadata=True)
            assert [(v.key, v.metadata) for v in got_vectors] == [("a", {"kind": "x", "body": "long text"})]
            assert [v.key for v in await c.all_vectors(bucket, "docs")] == ["a", "b", "c"]
            page = await c.list_vectors(bucket, "docs", max_results=2)
            assert len(page.items) == 2 and page.next_token

            matches = await c.query_vectors(bucket, "docs", [1.0, 0.0, 0.0], top_k=2, return_distance=True,
                                            filter={"kind": {"$eq": "x"}}, return_metadata=True)
            assert [m.key for m in matches] == ["a", "c"]
            assert matches[0].distance == pytest.approx(0.0, abs=1e-6) and matches[1].distance > 0
            with pytest.raises(ValidationError, match="body"):  # a non-filterable key
                await c.query_vectors(bucket, "docs", [1.0, 0.0, 0.0], filter={"body": "x"})

            await c.delete_vectors(bucket, "docs", ["a"])
            assert [v.key for v in await c.all_vectors(bucket, "docs")] == ["b", "c"]
            with pytest.raises(ConflictError):  # a bucket with indexes cannot be deleted
                await c.delete_vector_bucket(bucket)
            await c.delete_index(bucket, "docs")
            with pytest.raises(NotFoundError) as e:
                await c.get_index(bucket, "docs")
            assert e.value.code == "VectorIndexNotFound" and e.value.request_id
            await c.delete_vector_bucket(bucket)
            with pytest.raises(NotFoundError) as e:
                await c.get_vector_bucket(bucket)
            assert e.value.code == "VectorBucketNotFound"

    run(go())


def test_errors_carry_action_code_and_request_id(make_client: Factory) -> None:
    bucket = unique(make_client, "errors")

    async def go() -> None:
        async with make_client() as c:
            await c.create_vector_bucket(bucket)
            with pytest.raises(ConflictError) as e:
                await c.create_vector_bucket(bucket)
            assert e.value.action == "CreateVectorBucket" and e.value.status == 409
            with pytest.raises(ValidationError) as v:
                await c.create_index(bucket, "big", dimension=5000, distance_metric="cosine")
            text = str(v.value)
            assert "dimension" in text and "4096" in text and "\n" not in text and v.value.request_id in text

    run(go())


def test_pagination_walks_every_page(make_client: Factory) -> None:
    bucket = unique(make_client, "pages")

    async def go() -> None:
        async with make_client() as c:
            await c.create_vector_bucket(bucket)
            names = [f"idx-{i:03d}" for i in range(120)]  # more than one default page of 100
            await asyncio.gather(*(c.create_index(bucket, n, dimension=2, distance_metric="euclidean")
                                   for n in names))
            assert [i.name for i in await c.all_indexes(bucket)] == names
            first = await c.list_indexes(bucket, max_results=50)
            assert len(first.items) == 50 and first.next_token

    run(go())


def test_wrong_secret_is_access_denied_over_http(server: str) -> None:
    async def go() -> None:
        async with VectorsClient(endpoint=server, account_id=ACCOUNT, credentials=Credentials(AK, "wrong"),
                                 retry=RetryPolicy(max_attempts=1)) as c:
            with pytest.raises(AccessDeniedError) as e:
                await c.all_vector_buckets()
            assert e.value.status == 403 and "wrong" not in str(e.value)

    run(go())
