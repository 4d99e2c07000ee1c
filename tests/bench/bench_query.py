"""Benchmark: QueryVectors top-10 on 100k x 768 cosine vectors, against bare numpy.

    python tests/bench/bench_query.py [--rows 100000] [--dim 768] [--queries 30]

Not a test (pytest skips tests/bench): it prints medians and ratios measured in one run.
The baseline is the least a brute-force search can do per query: normalise the query,
one matrix-vector product with the pre-normalised matrix, argpartition, sort the top 10.
Two emulator figures are compared with it: the search function alone (cache hit: the
version lookup in SQLite plus the same numpy work), and a full QueryVectors request
through the ASGI app in-process (JSON in and out, validation, routing). The goal is a
ratio within 2x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reconciler.emulator import EmulatorConfig, create_app  # noqa: E402
from reconciler.emulator.search import VectorSearch  # noqa: E402

ACCOUNT, BUCKET, INDEX = "2100000000", "bench", "docs"


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(EmulatorConfig(data_dir=data_dir))
        store = app.store
        start = time.perf_counter()
        store.create_bucket(ACCOUNT, BUCKET, 0)
        store.create_index(ACCOUNT, BUCKET, INDEX, data_type="float32", dimension=args.dim, distance_metric="cosine",
                           non_filterable=(), now=0)
        index = store.get_index(ACCOUNT, BUCKET, INDEX)
        for lo in range(0, args.rows, 5000):
            store.put_vectors(index, [(f"doc-{i:07d}", matrix[i].tobytes(), None)
                                      for i in range(lo, min(lo + 5000, args.rows))])
        build_s = time.perf_counter() - start
        index = store.get_index(ACCOUNT, BUCKET, INDEX)

        # baseline: bare numpy over the same matrix, normalised once outside the timing
        unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

        def bare_numpy(q: np.ndarray) -> np.ndarray:
            sims = unit @ (q / np.linalg.norm(q))
            top = np.argpartition(-sims, 10)[:10]
            return top[np.argsort(-sims[top])]

        search = VectorSearch(store)
        start = time.perf_counter()
        search.query(index, queries[0], 10)  # the first query loads the cache
        load_s = time.perf_counter() - start
        hits = search.query(index, queries[-1], 10)
        assert [k for k, _ in hits] == [f"doc-{i:07d}" for i in bare_numpy(queries[-1])], "search disagrees with numpy"

        host = f"{BUCKET}-{ACCOUNT}.127.0.0.1"
        bodies = [json.dumps({"vectorBucketName": BUCKET, "indexName": INDEX, "topK": 10, "returnDistance": True,
                              "queryVector": {"float32": q.tolist()}}) for q in queries]
        baseline: list[float] = []
        direct: list[float] = []
        request: list[float] = []

        async def measure() -> None:
            # the three are timed in turn for each query, so background load hits them alike
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
                r = await c.post("/QueryVectors", content=bodies[0], headers={"host": host})  # warm the app's cache
                assert r.status_code == 200, r.text
                for q, body in zip(queries, bodies, strict=True):
                    t = time.perf_counter()
                    bare_numpy(q)
                    baseline.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    search.query(index, q, 10)
                    direct.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    r = await c.post("/QueryVectors", content=body, headers={"host": host})
                    request.append(time.perf_counter() - t)
                    assert r.status_code == 200 and len(r.json()["vectors"]) == 10

        asyncio.run(measure())
        app.close()

    base = _median_ms(baseline)
    print(f"index: {args.rows} x {args.dim} float32, cosine; built in {build_s:.1f} s; cache load {load_s:.2f} s")
    print(f"bare numpy (normalise query + matmul + argpartition): median {base:7.2f} ms")
    print(f"emulator search function (cache hit):                 median {_median_ms(direct):7.2f} ms"
          f"  ratio {_median_ms(direct) / base:.2f}x")
    print(f"emulator QueryVectors via ASGI (JSON, validation):    median {_median_ms(request):7.2f} ms"
          f"  ratio {_median_ms(request) / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
