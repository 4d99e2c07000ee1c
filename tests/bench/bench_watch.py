"""Benchmark: `reconciler watch` stays flat in memory over many checks, and one check costs
what one `reconciler drift` costs, start-up aside.

    python tests/bench/bench_watch.py [--cycles 5000] [--estate 10x40] [--repeat 16]

Not a test (pytest ignores tests/bench): it prints figures measured in one run.

memory   A watch (the real loop: `service.Watch.main`, with its /metrics endpoint on a free
         port and an events file) runs --cycles checks at a 1 ms interval against the
         in-process emulator (2 buckets x 5 indexes). Every 100th check the manifest it re-reads
         gains or loses an index, so drift.detected / drift.resolved events come and go all
         along (to the events file and to a webhook on 127.0.0.1). The resident size (VmRSS) is printed after the first
         check, after 100 and 250 (warm: every path has run), then every fifth of the run, and at the end; the verdict
         compares the end with the warm figure.
cycle    At --estate BUCKETS x INDEXES (every bucket with a policy), in-process and
         interleaved, --repeat times (medians): one check of a watch (`Watcher.check`:
         manifest read, client opened, refresh, drift report, compared with the last) against
         the work `reconciler drift --format json` does after start-up (manifest read, client
         opened, refresh, drift report, JSON rendered). Their ratio is the figure; then, for
         scale, `reconciler drift` as a whole process (its start-up is what a watch pays once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._common import ACCOUNT, REGION, manifest_yaml, populate  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def client_factory(data_dir: Path) -> Any:
    from reconciler.cli.inprocess import embedded_sender
    from reconciler.client import VectorsClient

    def open_client() -> VectorsClient:
        return VectorsClient(region=REGION, endpoint="http://127.0.0.1", account_id=ACCOUNT,
                             sender=embedded_sender(data_dir, account_id=ACCOUNT, region=REGION))

    return open_client


def memory(cycles: int, work: Path) -> None:
    from reconciler.manifest import load_manifests
    from reconciler.plan.model import Target
    from reconciler.watch.config import WatchConfig
    from reconciler.watch.service import Watch

    data = work / "memory-data"
    populate(data, 2, 5)
    plain = work / "plain.yaml"
    plain.write_text(manifest_yaml(2, 5))
    extra = work / "extra.yaml"  # declares one index more: it is missing, so that is drift
    extra.write_text(manifest_yaml(2, 5).replace(
        "    indexes:\n", "    indexes:\n      - {name: extra, dimension: 8, distanceMetric: cosine}\n", 1))
    events = work / "events.jsonl"
    said: list[int] = [0]
    w: Watch

    def load() -> Any:
        return load_manifests([str(extra if (w.checks // 100) % 2 else plain)], {})

    def say(line: str) -> None:
        said[0] += 1

    from tests.watch.receiver import receiving

    with receiving() as rec:
        w = Watch(WatchConfig(interval=0.001, listen=("127.0.0.1", 0), events=events, webhooks=(rec.url,)),
                  client_factory(data), Target(f"embedded:{data}", REGION, ACCOUNT, embedded=True), load, say)
        _memory_run(w, cycles, events, said, rec)


def _memory_run(w: Any, cycles: int, events: Path, said: list[int], rec: Any) -> None:
    marks = sorted({1, 100, 250, *(cycles * k // 5 for k in range(1, 6))})
    seen: list[tuple[int, float, float]] = []

    async def sample() -> None:
        start = time.perf_counter()
        while marks:
            if w.checks >= marks[0]:
                seen.append((w.checks, rss_mib(), time.perf_counter() - start))
                marks.pop(0)
            await asyncio.sleep(0.002)

    async def go() -> None:
        sampler = asyncio.create_task(sample())
        await w.main(max_checks=cycles)
        await asyncio.wait_for(sampler, 5)

    print(f"memory: {cycles:,} checks of 2 buckets x 5 indexes at a 1 ms interval (in-process emulator, "
          f"/metrics served, events file, a webhook)")
    print(f"  RSS before the watch: {rss_mib():.1f} MiB")
    asyncio.run(go())
    for n, rss, at in seen:
        print(f"  after {n:>6,} checks: RSS {rss:7.1f} MiB   ({at:6.1f} s)")
    lines = events.read_text().count("\n")
    errors = w.metrics.registry.get_sample_value("reconciler_checks_total", {"result": "error"})
    print(f"  {lines:,} events written, {len(rec.events()):,} received by the webhook, {errors:.0f} failed checks, "
          f"{said[0]:,} lines said")
    # warm: every path has run, the webhook's connection included (the first event is at check 100)
    warm = next(rss for n, rss, _ in seen if n >= 250)
    end = seen[-1][1]
    print(f"  end vs warm (after 250 checks): {end - warm:+.1f} MiB ({end / warm:.3f}x)")


def cycle(estate: str, repeat: int, work: Path) -> None:
    from reconciler import engine
    from reconciler.manifest import load_manifests
    from reconciler.plan.build import PlanOptions
    from reconciler.plan.drift import drift_report
    from reconciler.plan.model import Target
    from reconciler.render.jsonplan import drift_json
    from reconciler.watch.check import Watcher
    from reconciler.watch.config import WatchConfig
    from reconciler.watch.events import EventSink
    from reconciler.watch.metrics import WatchMetrics

    buckets, per_bucket = (int(x) for x in estate.split("x"))
    data = work / ".reconciler" / "local" / REGION  # where `--endpoint embedded` finds it from `work`
    took = populate(data, buckets, per_bucket)
    manifest = work / "estate.yaml"
    manifest.write_text(manifest_yaml(buckets, per_bucket))
    print(f"\ncycle: {buckets} buckets x {per_bucket} indexes (every bucket with a policy; written in {took:.1f} s)")
    target = Target(f"embedded:{data}", REGION, ACCOUNT, embedded=True)
    open_client = client_factory(data)

    def load() -> Any:
        return load_manifests([str(manifest)], {})

    watcher = Watcher(WatchConfig(), open_client, target, load, EventSink(None, (), lambda s: None),
                      WatchMetrics(), lambda s: None)

    async def drift_work() -> str:
        m = load()
        async with open_client() as client:
            plan = await engine.make_plan(client, m, target, PlanOptions(), probe=False)
        return drift_json(drift_report(plan))

    def timed(fn: Any) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    assert asyncio.run(watcher.check()) == "in_sync"  # warm both paths once
    asyncio.run(drift_work())
    checks, drifts = [], []
    for n in range(repeat):  # interleaved, each one first every other time (the second pays for the first's garbage)
        pair = [(checks, lambda: asyncio.run(watcher.check())), (drifts, lambda: asyncio.run(drift_work()))]
        for into, fn in pair if n % 2 == 0 else reversed(pair):
            into.append(timed(fn))
    c, d = statistics.median(checks), statistics.median(drifts)
    print(f"  one watch check            median {c * 1000:8.1f} ms")
    print(f"  drift's work (in-process)  median {d * 1000:8.1f} ms")
    print(f"  check / drift: {c / d:.2f}x")

    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_") and k != "CI"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])

    def run(*args: str, codes: tuple[int, ...] = (0,)) -> float:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode in codes, done.stderr
        return time.perf_counter() - start

    procs = [run("drift", "-f", str(manifest), "--endpoint", "embedded", "--format", "json", codes=(0,))
             for _ in range(3)]
    p = statistics.median(procs)
    print(f"  for scale: `reconciler drift --format json` as a process: median {p * 1000:.0f} ms, of which "
          f"{(p - d) * 1000:.0f} ms is start-up (interpreter, imports) that a watch pays once")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=5000)
    parser.add_argument("--estate", default="10x40")
    parser.add_argument("--repeat", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        if args.cycles > 0:  # --cycles 0: the cycle comparison only
            memory(args.cycles, Path(tmp))
        cycle(args.estate, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
