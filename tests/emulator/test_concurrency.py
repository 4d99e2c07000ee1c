"""50 clients at once get correct, isolated answers, over HTTP and in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from reconciler.emulator import EmulatorConfig, create_app
from tests.support.emulator import bucket_host

CLIENTS = 50


async def _one_client(post: Callable[[str, dict[str, Any], str], Awaitable[httpx.Response]], n: int,
                      stem: str) -> None:
    """One client's whole story; every answer must be about its own data only."""
    bucket = f"{stem}-{n}"
    host = bucket_host(bucket)

    async def ok(action: str, body: dict[str, Any], at: str = host) -> Any:
        r = await post(action, body, at)
        assert r.status_code == 200, (n, action, r.text)
        return r.json()

    await ok("CreateVectorBucket", {"vectorBucketName": bucket}, "127.0.0.1")
    ref = {"vectorBucketName": bucket, "indexName": "idx"}
    await ok("CreateIndex", {**ref, "dataType": "float32", "dimension": 4, "distanceMetric": "euclidean"})
    vectors = [{"key": f"c{n}-k{i:02d}", "data": {"float32": [float(n), float(i), 0.0, 1.0]},
                "metadata": {"owner": n, "i": i}} for i in range(20)]
    await ok("PutVectors", {**ref, "vectors": vectors})
    hits = (await ok("QueryVectors", {**ref, "topK": 3, "queryVector": {"float32": [float(n), 5.0, 0.0, 1.0]},
                                      "returnDistance": True, "returnMetadata": True}))["vectors"]
    assert [h["key"] for h in hits] == [f"c{n}-k05", f"c{n}-k04", f"c{n}-k06"]
    assert [h["distance"] for h in hits] == [0.0, 1.0, 1.0]
    assert all(h["metadata"]["owner"] == n for h in hits)
    filtered = (await ok("QueryVectors", {**ref, "topK": 50, "queryVector": {"float32": [0.0, 0.0, 0.0, 1.0]},
                                          "filter": {"i": {"$gte": 18}}}))["vectors"]
    assert sorted(h["key"] for h in filtered) == [f"c{n}-k18", f"c{n}-k19"]
    listed = (await ok("ListVectors", {**ref, "maxResults": 1000}))["vectors"]
    assert [v["key"] for v in listed] == [v["key"] for v in vectors]
    await ok("DeleteVectors", {**ref, "keys": [v["key"] for v in vectors[:10]]})
    got = (await ok("GetVectors", {**ref, "keys": [v["key"] for v in vectors]}))["vectors"]
    assert [v["key"] for v in got] == [v["key"] for v in vectors[10:]]
    await ok("DeleteIndex", ref)
    await ok("DeleteVectorBucket", {"vectorBucketName": bucket})


def test_fifty_concurrent_http_clients(http_server: Any) -> None:
    def run(n: int) -> None:
        with httpx.Client(base_url=http_server.url, timeout=60) as client:
            async def post(action: str, body: dict[str, Any], host: str) -> httpx.Response:
                return client.post(f"/{action}", content=json.dumps(body), headers={"host": host})

            asyncio.run(_one_client(post, n, "thr"))

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for future in [pool.submit(run, n) for n in range(CLIENTS)]:
            future.result()
    with httpx.Client(base_url=http_server.url) as client:
        left = client.post("/ListVectorBuckets", json={"prefix": "thr-"}, headers={"host": "127.0.0.1"}).json()
    assert left == {"vectorBuckets": []}


def test_fifty_concurrent_asgi_clients(tmp_path: Any) -> None:
    app = create_app(EmulatorConfig(data_dir=tmp_path, latency_ms=5))  # latency makes requests interleave

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            async def post(action: str, body: dict[str, Any], host: str) -> httpx.Response:
                return await client.post(f"/{action}", content=json.dumps(body), headers={"host": host})

            await asyncio.gather(*(_one_client(post, n, "aio") for n in range(CLIENTS)))

    try:
        asyncio.run(main())
    finally:
        app.close()


def test_a_slow_request_does_not_hold_up_the_others(monkeypatch: Any) -> None:
    """Handlers run off the event loop: while one QueryVectors is stuck inside its handler,
    a GetIndex is answered. (Were handlers on the loop, GetIndex would wait for the query.)"""
    import dataclasses
    import threading

    from reconciler.emulator.routes import ROUTES

    inside, release = threading.Event(), threading.Event()
    real = ROUTES["QueryVectors"].handle

    def stuck(ctx: Any, request: Any) -> Any:
        inside.set()
        release.wait(30)  # bounded: a broken app fails the assertions below, it never hangs
        return real(ctx, request)

    monkeypatch.setitem(ROUTES, "QueryVectors", dataclasses.replace(ROUTES["QueryVectors"], handle=stuck))
    app = create_app(EmulatorConfig(data_dir=":memory:"))
    host = bucket_host("slow")
    ref = {"vectorBucketName": "slow", "indexName": "idx"}

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
            async def post(action: str, body: dict[str, Any], at: str = host) -> httpx.Response:
                return await c.post(f"/{action}", content=json.dumps(body), headers={"host": at})

            assert (await post("CreateVectorBucket", {"vectorBucketName": "slow"}, "127.0.0.1")).status_code == 200
            assert (await post("CreateIndex", {**ref, "dataType": "float32", "dimension": 2,
                                               "distanceMetric": "euclidean"})).status_code == 200
            query = asyncio.create_task(post("QueryVectors", {**ref, "topK": 1, "queryVector": {"float32": [1, 2]}}))
            assert await asyncio.to_thread(inside.wait, 30)
            got = await post("GetIndex", ref)
            assert got.status_code == 200 and not query.done()
            release.set()
            assert (await query).status_code == 200

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        app.close()


def test_reads_in_worker_threads_never_see_half_a_write() -> None:
    """PutVectors of 200 vectors is one transaction: queries and lists running meanwhile in
    other worker threads see all of a batch or none of it."""
    app = create_app(EmulatorConfig(data_dir=":memory:"))
    host = bucket_host("atomic")
    ref = {"vectorBucketName": "atomic", "indexName": "idx"}
    batch, batches = 200, 5  # 1,000 vectors: one query (topK 1000) or list page sees them all

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
            async def ok(action: str, body: dict[str, Any], at: str = host) -> Any:
                r = await c.post(f"/{action}", content=json.dumps(body), headers={"host": at})
                assert r.status_code == 200, r.text
                return r.json()

            await ok("CreateVectorBucket", {"vectorBucketName": "atomic"}, "127.0.0.1")
            await ok("CreateIndex", {**ref, "dataType": "int8", "dimension": 2, "distanceMetric": "euclidean"})

            async def write(b: int) -> None:
                await ok("PutVectors", {**ref, "vectors": [{"key": f"b{b}-{i:03d}", "data": {"int8": [b, i % 100]},
                                                            "metadata": {"batch": b}} for i in range(batch)]})

            seen: list[list[int]] = []

            async def read() -> None:
                hits = (await ok("QueryVectors", {**ref, "topK": 1000, "queryVector": {"int8": [0, 0]},
                                                  "returnMetadata": True})).get("vectors", [])
                listed = (await ok("ListVectors", {**ref, "maxResults": 1000}))["vectors"]
                for keys in ([h["key"] for h in hits], [v["key"] for v in listed]):
                    counts = [sum(1 for k in keys if k.startswith(f"b{b}-")) for b in range(batches)]
                    seen.append(counts)

            await asyncio.gather(*(write(b) for b in range(batches)), *(read() for _ in range(3 * batches)))
            await read()
            assert seen[-1] == [batch] * batches
            assert all(count in (0, batch) for counts in seen for count in counts), seen

    try:
        asyncio.run(scenario())
    finally:
        app.close()
