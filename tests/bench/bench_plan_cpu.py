"""Benchmark: the CPU cost of planning, at zero latency, against a baseline of the same run.

    python tests/bench/bench_plan_cpu.py [--indexes 10000] [--per-bucket 100] [--repeat 3]
                                         [--memory-sizes 1000,2000,5000,10000] [--no-embedded]
                                         [--profile [--profile-indexes 2000]]

Not a test (pytest ignores tests/bench): it prints medians, ms per index and ratios.
The estate is N indexes in N/PER_BUCKET buckets, each bucket with a policy, built in memory
as a Manifest and a matching LiveState (no YAML, no I/O) in three variants:

  in sync    live == manifest (the everyday CI `plan --detailed-exitcode`);
  10% change every 10th index differs in dimension (replace), every 10th policy differs (update);
  all new    the account is empty (every object is a create: the first plan).

Timed (median of REPEAT; load and embedded: median of 2, the first run included):
  baseline   json.dumps + json.loads of the N index dicts (bucket, name, dataType, dimension,
             distanceMetric, nonFilterableMetadataKeys): the cost of merely touching that
             much data in Python. A second baseline, building the N dicts in a bare loop, is
             printed for scale;
  build_plan planner.build_plan (pure, no I/O) for each variant;
  render     render.plan_text and render.plan_json of each variant's plan;
  load       manifest.load_manifests of the same estate written as YAML (parse, schema,
             semantic checks: the other CPU cost a `plan` process pays before any request);
  embedded   the whole refresh + plan of `reconciler plan` at zero latency: VectorsClient over
             reconciler.cli.inprocess.embedded_sender (in-process ASGI, no socket; what the CLI uses) and
             engine.make_plan, for the in-sync estate. This includes the emulator's own CPU
             (it runs in the same thread), so it is an upper bound of the client's share.

Goal: planning (build_plan) under 1 ms per index. Peak memory (tracemalloc) of planning and
of the embedded refresh + plan is printed per index at each of --memory-sizes, to show it
grows at most linearly. --profile runs cProfile on build_plan (10% change), load_manifests
and the embedded refresh + plan, on a --profile-indexes estate (default 2000: cProfile
multiplies run time, the shares stay the same), and prints the top 15 functions by
cumulative time and the top 10 by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ACCOUNT,
    REGION,
    bucket_name,
    in_memory,
    index_name,
    index_spec,
    machine,
    manifest_yaml,
    median,
    populate,
    profile,
    table,
    timed,
)

from reconciler import engine, render  # noqa: E402
from reconciler.cli.inprocess import embedded_sender  # noqa: E402
from reconciler.client import VectorsClient  # noqa: E402
from reconciler.manifest import load_manifests  # noqa: E402
from reconciler.plan.build import build_plan  # noqa: E402
from reconciler.plan.model import Target  # noqa: E402

TARGET = Target("embedded:bench", REGION, ACCOUNT, embedded=True)
VARIANTS = (("in sync", {}), ("10% change", {"changed_every": 10}), ("all new", {"live_empty": True}))


def index_dicts(buckets: int, per_bucket: int) -> list[dict[str, Any]]:
    return [{"bucket": bucket_name(b), "name": index_name(i), **index_spec(b, i)}
            for b in range(buckets) for i in range(per_bucket)]


def best_of(fn: Callable[[], Any], repeat: int, first: float | None = None) -> float:
    """Median wall time of `repeat` calls (the garbage collector on, as in real runs);
    `first` is a sample already taken (a warm-up run that also produced a result)."""
    samples = [] if first is None else [first]
    while len(samples) < repeat:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples)


async def _embedded_plan(data_dir: Path, manifest: Any, parallelism: int) -> Any:
    client = VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT, region=REGION,
                           sender=embedded_sender(data_dir, account_id=ACCOUNT, region=REGION),
                           max_connections=parallelism * 2)
    async with client:
        return await engine.make_plan(client, manifest, TARGET, parallelism=parallelism)


def embedded_plan(data_dir: Path, manifest: Any, parallelism: int = 16) -> Any:
    return asyncio.run(_embedded_plan(data_dir, manifest, parallelism))


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--indexes", type=int, default=10_000)
    parser.add_argument("--per-bucket", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-sizes", default="1000,2000,5000,10000")
    parser.add_argument("--no-embedded", action="store_true", help="skip the refresh + plan over the embedded emulator")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile build_plan, load_manifests and the embedded refresh + plan")
    parser.add_argument("--profile-indexes", type=int, default=2000, help="estate size for --profile (default 2000)")
    args = parser.parse_args()
    per = args.per_bucket
    buckets = max(1, args.indexes // per)
    n = buckets * per
    if buckets > 100 and not args.no_embedded:
        parser.error("the emulator allows 100 buckets per account: raise --per-bucket or pass --no-embedded")
    sizes = [int(s) for s in args.memory_sizes.split(",") if s.strip()]
    print(f"bench_plan_cpu: {n} indexes = {buckets} buckets x {per}, median of {args.repeat}; {machine()}")
    started = time.perf_counter()

    # --- baselines ---------------------------------------------------------------------------
    dicts = index_dicts(buckets, per)
    base_json = best_of(lambda: json.loads(json.dumps(dicts)), args.repeat)
    base_build = best_of(lambda: index_dicts(buckets, per), args.repeat)
    rows: list[list[str]] = []

    def row(what: str, seconds: float) -> None:
        rows.append([what, f"{seconds * 1000:.1f}", f"{seconds * 1000 / n:.4f}", f"{seconds / base_json:.1f}x"])

    row("baseline: json dumps+loads of N index dicts", base_json)
    row("baseline: bare loop building the N dicts", base_build)

    # --- build_plan and rendering, per variant --------------------------------------------------
    plans = {}
    for label, kw in VARIANTS:
        manifest, live = in_memory(buckets, per, **kw)
        first, plan = timed(lambda: build_plan(manifest, live, TARGET))  # also the plan to render
        plans[label] = (manifest, live, plan)
        row(f"build_plan, {label} ({len(plan.changes)} changes)",
            best_of(lambda: build_plan(manifest, live, TARGET), args.repeat, first))
    for label, _ in VARIANTS[1:]:
        plan = plans[label][2]
        row(f"render.plan_text, {label}", best_of(lambda: render.plan_text(plan), args.repeat))
        row(f"render.plan_json, {label}", best_of(lambda: render.plan_json(plan), args.repeat))
    planning_ms = {label: float(r[2]) for label, r in zip([v[0] for v in VARIANTS], rows[2:5])}

    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        work = Path(tmp)
        yaml_path = work / "estate.yaml"
        yaml_path.write_text(manifest_yaml(buckets, per))
        first, loaded = timed(lambda: load_manifests([str(yaml_path)], {}))
        row("load_manifests (YAML, schema, checks)",
            best_of(lambda: load_manifests([str(yaml_path)], {}), 2, first))
        embedded_ms = None
        if not args.no_embedded:
            data = work / "data"
            populate(data, buckets, per)
            first, plan = timed(lambda: embedded_plan(data, loaded))
            if not plan.is_empty:
                raise SystemExit(f"the embedded estate is not in sync: {plan.counts()}")
            t = best_of(lambda: embedded_plan(data, loaded), 2, first)
            row("refresh + plan, embedded emulator, in sync", t)
            embedded_ms = t * 1000 / n

        print("\n" + table(["step", "ms", "ms/index", "vs baseline"], rows))
        print(f"\nbaseline = json dumps+loads of {n} index dicts, measured in this run "
              f"({base_json * 1000 / n:.4f} ms/index)")
        for label, ms in planning_ms.items():
            print(f"goal build_plan < 1 ms/index, {label}: {ms:.4f} ms/index -> {'met' if ms < 1 else 'MISSED'}")
        if embedded_ms is not None:
            print(f"refresh + plan over the embedded emulator: {embedded_ms:.3f} ms/index (emulator CPU included)")

        # --- memory ---------------------------------------------------------------------------
        mem_rows = []
        for size in sizes:
            b = max(1, size // per)
            manifest, live = in_memory(b, per, changed_every=10)

            def plan_and_render() -> None:
                p = build_plan(manifest, live, TARGET)
                render.plan_text(p)
                render.plan_json(p)

            plan_peak, _ = peak_bytes(plan_and_render)
            inputs_peak, _ = peak_bytes(lambda: in_memory(b, per, changed_every=10))
            cells = [str(b * per), f"{inputs_peak / 1e6:.1f}", f"{inputs_peak / (b * per):.0f}",
                     f"{plan_peak / 1e6:.1f}", f"{plan_peak / (b * per):.0f}"]
            if not args.no_embedded and b <= 100:
                data = work / f"mem-{size}"
                populate(data, b, per)
                m = load_manifests([str(_write(work / f"mem-{size}.yaml", manifest_yaml(b, per)))], {})
                emb_peak, _ = peak_bytes(lambda: embedded_plan(data, m))
                cells += [f"{emb_peak / 1e6:.1f}", f"{emb_peak / (b * per):.0f}"]
            else:
                cells += ["-", "-"]
            mem_rows.append(cells)
        print("\nPeak memory (tracemalloc), per index:")
        print(table(["N", "inputs MB", "inputs B/idx", "plan+render MB (10%)", "B/idx",
                     "refresh+plan MB (embedded)", "B/idx"], mem_rows))
        print("inputs = building the in-memory Manifest + LiveState; plan+render = build_plan, plan_text and "
              "plan_json of the 10%-change variant; refresh+plan = engine.make_plan over the embedded emulator.")

        if args.profile:
            # on a smaller estate: the shares are the same and cProfile multiplies the time
            pb = max(1, min(buckets, args.profile_indexes // per))
            pn = pb * per
            manifest, live = in_memory(pb, per, changed_every=10)
            profile(f"build_plan, 10% change, N={pn}", lambda: build_plan(manifest, live, TARGET))
            ppath = _write(work / "profile.yaml", manifest_yaml(pb, per))
            profile(f"load_manifests, N={pn}", lambda: load_manifests([str(ppath)], {}))
            if not args.no_embedded:
                pdata = work / "profile-data"
                populate(pdata, pb, per)
                pm = load_manifests([str(ppath)], {})
                embedded_plan(pdata, pm)
                profile(f"refresh + plan over the embedded emulator, in sync, N={pn}",
                        lambda: embedded_plan(pdata, pm))
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    return 0


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


if __name__ == "__main__":
    sys.exit(main())
