"""Benchmark: what the access delta adds to planning, against the same plan without it.

    python tests/bench/bench_access.py [--buckets 50] [--per-bucket 100] [--repeat 5]
                                       [--principals 200]

Not a test (pytest ignores tests/bench). Two figures, each a ratio against a baseline
measured in the same run:

  planning   planner.build_plan on the bench estate with every policy changed (one update
             per bucket, each delta over the bucket's PER_BUCKET indexes), against the same
             build_plan with the delta step replaced by the identity;
  big policy access.access_delta of a live policy naming PRINCIPALS principals, one
             statement each, on a bucket of PER_BUCKET indexes, against evaluating that
             policy once per (principal, action, index) it covers: what the class-by-class
             evaluation saves over the plain loop.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, REGION, in_memory, machine, median, table

from reconciler.plan.model import Target
from reconciler.plan import build as planner
from reconciler.rules.access import ACTIONS, access_delta, evaluate, index_trn

TARGET = Target("embedded:bench", REGION, ACCOUNT, embedded=True)


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples)


def big_policy(principals: int) -> dict[str, Any]:
    return {"Version": "2025-12-01", "Statement": [
        {"Sid": f"S{p}", "Effect": "Allow", "Principal": [f"2100000001/user-{p:04d}"],
         "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors"],
         "Resource": [f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/big/index/*"]} for p in range(principals)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buckets", type=int, default=50)
    parser.add_argument("--per-bucket", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--principals", type=int, default=200)
    args = parser.parse_args()
    print(f"bench_access: {args.buckets} buckets x {args.per_bucket} indexes, median of {args.repeat}; {machine()}")

    manifest, live = in_memory(args.buckets, args.per_bucket, changed_every=1)
    planner.build_plan(manifest, live, TARGET)  # warm-up: imports and compiled patterns
    with_delta = best_of(lambda: planner.build_plan(manifest, live, TARGET), args.repeat)
    real = planner._with_access
    planner._with_access = lambda change, *_: change  # type: ignore[assignment]
    try:
        without = best_of(lambda: planner.build_plan(manifest, live, TARGET), args.repeat)
    finally:
        planner._with_access = real  # type: ignore[assignment]

    indexes = [f"idx-{i:04d}" for i in range(args.per_bucket)]
    doc = big_policy(args.principals)
    delta = best_of(lambda: access_delta(doc, None, REGION, ACCOUNT, "big", indexes), 1)
    loop_n = min(args.principals, 20)  # the plain loop on a sample of principals, scaled up
    plain = best_of(lambda: [evaluate(doc, f"2100000001/user-{p:04d}", a, index_trn(REGION, ACCOUNT, "big", i))
                             for p in range(loop_n) for a in ACTIONS for i in indexes], 1) * args.principals / loop_n

    print(table(["what", "seconds", "baseline s", "ratio"], [
        ["build_plan, every policy changed", f"{with_delta:.3f}", f"{without:.3f} (no delta)",
         f"{with_delta / without:.2f}x"],
        [f"access_delta, {args.principals} principals", f"{delta:.3f}", f"{plain:.3f} (plain loop, est.)",
         f"{delta / plain:.3f}x"],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
