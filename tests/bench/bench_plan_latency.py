"""Benchmark: a whole `reconciler plan` process at 20 ms per response, against the official
SDK doing the same reads over 16 threads (the fair peer) and against the ideal.

    python tests/bench/bench_plan_latency.py [--estate 10x40] [--latency-ms 20] [--threads 16]
                                             [--parallelism default,16] [--repeat 7]

Not a test (pytest ignores tests/bench): it prints medians and ratios measured in one run.
The estate (BUCKETS x INDEXES, each bucket with a policy; the same one bench_refresh.py
builds) is written straight into an emulator database, and `reconciler serve --latency-ms`
runs on it. Then, interleaved, REPEAT times (median):

  plan       `reconciler plan -f M --detailed-exitcode` as a whole process (start-up,
             manifest, refresh, diff), in sync (exit 0 checked), once for each entry of
             --parallelism: `default` is the command as a user types it, a number adds
             `--parallelism N`;
  sdk-16     the official SDK over --threads threads, a client each, in this process (no
             start-up, no manifest, no diff): ListVectorBuckets, then each bucket's
             GetVectorBucket, GetVectorBucketPolicy and ListIndexes, each GetIndex as soon
             as its page is in (bench_refresh.sdk_pool_loop);
  floor      `reconciler validate -f M` as a process: start-up and manifest loading, no call.

The ideal is the critical path at the SDK's concurrency: the least number of sequential
round trips with --threads requests in flight, max(2, ceil(reads / threads)) (a GetIndex
needs its ListIndexes page first), times the latency; `reads` is counted from the plan's
own refresh. `ideal + floor` adds what a process pays before its first request; `own
ideal + floor` counts the round trips at the run's own parallelism (64 reads for the
command as typed), the least that run could take.

Goals (issue 18): plan (as typed) >= 1.5x faster than sdk-16, and <= 1.5x the ideal.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, manifest_yaml, median, populate, table  # noqa: E402
from bench_refresh import _refresh, cli_env, run_cli, sdk_pool_loop  # noqa: E402

from tests.support.emulator import running_emulator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--estate", default="10x40", help="BUCKETSxINDEXES (default 10x40)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=16, help="the SDK's threads, and the ideal's concurrency")
    parser.add_argument("--parallelism", default="default,16",
                        help="plan runs: `default` (no flag) and/or numbers for --parallelism (default: default,16)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    buckets, per_bucket = (int(x) for x in args.estate.lower().split("x"))
    runs = [p.strip() for p in args.parallelism.split(",") if p.strip()]
    print(f"bench_plan_latency {time.strftime('%Y-%m-%d %H:%M')}: {args.estate} at {args.latency_ms:g} ms, "
          f"median of {args.repeat}; {machine()}; load average {os.getloadavg()[0]:.1f}")
    compileall.compile_dir(str(Path(__file__).resolve().parents[2] / "reconciler"), quiet=1)
    lat = args.latency_ms / 1000
    with tempfile.TemporaryDirectory(prefix="bench-plan-latency-") as tmp:
        work = Path(tmp)
        data, manifest = work / "data", work / "m.yaml"
        populate(data, buckets, per_bucket)
        manifest.write_text(manifest_yaml(buckets, per_bucket))
        with running_emulator(data, "--latency-ms", str(args.latency_ms)) as emu:
            env = cli_env(emu.url)
            run_cli(["--version"], env, work)
            _, reads, _ = asyncio.run(_refresh(emu.url, manifest, args.threads))
            plans: dict[str, list[float]] = {r: [] for r in runs}
            sdk: list[float] = []
            floor: list[float] = []
            for i in range(args.repeat):
                for r in runs:
                    extra = [] if r == "default" else ["--parallelism", r]
                    plans[r].append(run_cli(["plan", "-f", str(manifest), "--detailed-exitcode", *extra], env,
                                            work)[0])
                sdk.append(sdk_pool_loop(emu.url, args.threads)[0])
                floor.append(run_cli(["validate", "-f", str(manifest)], env, work)[0])
                print(f"   run {i + 1}/{args.repeat}: " + ", ".join(f"plan {r} {plans[r][-1]:.2f} s" for r in runs)
                      + f", sdk-{args.threads} {sdk[-1]:.2f} s, floor {floor[-1]:.2f} s", flush=True)
    trips = max(2, math.ceil(reads / args.threads))
    ideal = trips * lat
    sdk_s, floor_s = median(sdk), median(floor)
    from reconciler.cli.flags import DEFAULT_READ_PARALLELISM

    rows = []
    for r in runs:
        plan_s = median(plans[r])
        own = max(2, math.ceil(reads / (DEFAULT_READ_PARALLELISM if r == "default" else int(r)))) * lat
        rows.append([f"reconciler plan{'' if r == 'default' else f' --parallelism {r}'}", f"{plan_s:.3f}",
                     f"{sdk_s / plan_s:.2f}x", f"{plan_s / ideal:.2f}x", f"{plan_s / (ideal + floor_s):.2f}x",
                     f"{plan_s / (own + floor_s):.2f}x"])
    rows.append([f"official SDK, {args.threads} threads (in-process)", f"{sdk_s:.3f}", "1.00x",
                 f"{sdk_s / ideal:.2f}x", f"{sdk_s / (ideal + floor_s):.2f}x", f"{sdk_s / ideal:.2f}x"])
    print(f"\n{reads} reads; ideal = max(2, ceil({reads} / {args.threads})) = {trips} round trips x "
          f"{args.latency_ms:g} ms = {ideal:.3f} s; floor (validate process) {floor_s:.3f} s\n")
    print(table(["run", "median s", f"faster than SDK-{args.threads}", "vs ideal", "vs ideal + floor",
                 "vs own ideal + floor"], rows))
    print(f"own ideal: the same at the run's own parallelism (the default reads {DEFAULT_READ_PARALLELISM} at a "
          "time), plus the floor for reconciler (the SDK, timed in-process, pays none)")
    plan_s = median(plans[runs[0]])
    print(f"\ngoals for `{runs[0]}`: >= 1.5x faster than SDK-{args.threads}: "
          f"{'met' if sdk_s / plan_s >= 1.5 else 'MISSED'}; <= 1.5x the ideal: "
          f"{'met' if plan_s / ideal <= 1.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
