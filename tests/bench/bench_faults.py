"""Benchmark: how many applies converge on their first run against a service that fails
a share of requests (`--fault-rate`: 429 / 503 / 500, as `reconciler serve --fault-rate`).

    python tests/bench/bench_faults.py [--runs 100] [--fault-rate 0.4] [--estate 5x10]
                                       [--parallelism 10] [--concurrency 50] [--time-scale 0.1]
                                       [--budget 300]

Not a test (pytest ignores tests/bench): it prints figures measured in one run. Each run
applies a fresh estate of BUCKETS x INDEXES, every bucket with a policy, from nothing,
against the emulator app in this process (the CLI's embedded target: no socket), with the
emulator's fault RNG seeded with the run's number (EmulatorConfig.seed, what `serve --seed`
sets) and the client's jitter RNG seeded too, so a run is the same run every time. It runs
the engine as `reconciler apply -f M --auto-approve` does: refresh and plan, then apply, both
under faults. A run converged on its first run when the plan was made and every step is
done; it is then checked against the fault-free service: a new plan must have no changes.

Two client retry policies, interleaved on the same seeds:

  retry        today's (reconciler/client/retry.py): a 5xx of a repeatable action gets 12
               attempts, a 429 16, anything else 6;
  baseline     the rule before it: 6 attempts for a 5xx (16 for a 429).

Backoff is real but scaled by --time-scale (0.1: base 10 ms, cap 0.5 s instead of 100 ms
and 5 s), for both policies alike: what is measured is how often the attempts run out,
and the 60 s budget of a call cannot bind at either scale (all 11 waits of 12 attempts
come to at most 31 s unscaled; see retry.py). The seeds fix the faults drawn per request
in arrival order; concurrent requests arrive in an order real time decides, so a seed
reproduces its run closely, not exactly. `--budget` bounds the wall time; seeds not
reached by then are left out and said so.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, REGION, machine, table  # noqa: E402

from reconciler import engine  # noqa: E402
from reconciler.apply.result import Status  # noqa: E402
from reconciler.cli.inprocess import AsgiSender  # noqa: E402
from reconciler.client import RetryPolicy, VectorsClient  # noqa: E402
from reconciler.emulator import EmulatorConfig, create_app  # noqa: E402
from reconciler.errors import ApiError  # noqa: E402
from reconciler.manifest import load_manifests  # noqa: E402
from reconciler.plan.model import Target  # noqa: E402


def scaled(cls: type[RetryPolicy], scale: float) -> RetryPolicy:
    base = RetryPolicy()
    return cls(base_delay=base.base_delay * scale, max_delay=base.max_delay * scale)


class BaselinePolicy(RetryPolicy):
    """The attempt limits before repeatable actions got more attempts for server errors."""

    def attempts_after(self, action: str, status: int | None) -> int:
        return self.throttled_attempts if status == 429 else self.max_attempts


def manifest_text(buckets: int, per_bucket: int) -> str:
    out = ["version: 1", "buckets:"]
    for b in range(buckets):
        name = f"fault-{b:02d}"
        out += [f"  - name: {name}", "    policy:", '      Version: "2025-12-01"', "      Statement:",
                "        - Effect: Allow", f'          Principal: ["{ACCOUNT}/readers"]',
                '          Action: ["tosvectors:QueryVectors"]',
                f'          Resource: ["trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{name}/index/*"]',
                "    indexes:"]
        out += [f"      - {{name: idx-{i:02d}, dimension: {8 + i}, distanceMetric: cosine}}" for i in range(per_bucket)]
    return "\n".join(out) + "\n"


@dataclass
class Outcome:
    converged: bool
    wall_s: float
    requests: int
    why: str = ""


async def one_run(work: Path, manifest_path: Path, seed: int, policy: RetryPolicy, fault_rate: float,
                  parallelism: int) -> Outcome:
    data_dir = work / f"{type(policy).__name__}-{seed}"
    app = create_app(EmulatorConfig(data_dir=data_dir, account_id=ACCOUNT, region=REGION, fault_rate=fault_rate,
                                    seed=seed))
    counted = 0
    inner = app

    async def counting(scope, receive, send):  # type: ignore[no-untyped-def]
        nonlocal counted
        counted += 1
        await inner(scope, receive, send)

    manifest = load_manifests([str(manifest_path)], {}, environ={})
    target = Target("embedded", REGION, ACCOUNT, embedded=True)
    start = time.perf_counter()
    why = ""
    client = VectorsClient(region=REGION, endpoint="http://127.0.0.1", account_id=ACCOUNT,
                           sender=AsgiSender(counting, on_close=app.close), retry=policy,
                           rng=random.Random(seed), max_connections=parallelism)
    async with client:
        try:
            plan = await engine.make_plan(client, manifest, target, parallelism=parallelism)
            result = await engine.apply_plan(client, plan, parallelism=parallelism)
            converged = result.ok
            if not converged:
                bad = [s for s in result.steps if s.status != Status.DONE]
                why = f"{len(bad)} steps not done, e.g. {bad[0].address}: {bad[0].detail[:100]}"
        except ApiError as e:
            converged, why = False, f"plan failed: {str(e)[:100]}"
    wall = time.perf_counter() - start
    if converged:  # and really in sync: a plan against the same store, without faults
        check = create_app(EmulatorConfig(data_dir=data_dir, account_id=ACCOUNT, region=REGION))
        async with VectorsClient(region=REGION, endpoint="http://127.0.0.1", account_id=ACCOUNT,
                                 sender=AsgiSender(check, on_close=check.close)) as clean:
            again = await engine.make_plan(clean, manifest, target, parallelism=parallelism)
        if not again.is_empty:
            converged, why = False, f"apply said done but {len(again.changes)} changes remain"
    return Outcome(converged, wall, counted, why)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--fault-rate", type=float, default=0.4)
    ap.add_argument("--estate", default="5x10", help="BUCKETSxINDEXES")
    ap.add_argument("--parallelism", type=int, default=10)
    ap.add_argument("--budget", type=float, default=300.0, help="wall seconds for all runs")
    ap.add_argument("--concurrency", type=int, default=50, help="runs at a time (each its own app and client)")
    ap.add_argument("--time-scale", type=float, default=0.1, help="factor on the backoff delays")
    args = ap.parse_args()
    buckets, per_bucket = (int(n) for n in args.estate.lower().split("x"))
    print(f"{machine()}; fault rate {args.fault_rate}; estate {buckets}x{per_bucket} + {buckets} policies "
          f"({buckets * (per_bucket + 2)} steps); parallelism {args.parallelism}")
    policies = {"retry": scaled(RetryPolicy, args.time_scale), "baseline": scaled(BaselinePolicy, args.time_scale)}
    results: dict[str, dict[int, Outcome]] = {name: {} for name in policies}
    deadline = time.monotonic() + args.budget

    async def all_runs(work: Path, manifest_path: Path) -> None:
        gate = asyncio.Semaphore(args.concurrency)

        async def run(seed: int, name: str) -> None:
            async with gate:
                if time.monotonic() > deadline:
                    return
                results[name][seed] = await one_run(work, manifest_path, seed, policies[name], args.fault_rate,
                                                    args.parallelism)

        # both policies on each seed side by side: they see the same machine load
        await asyncio.gather(*(run(seed, name) for seed in range(args.runs) for name in policies))

    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        work = Path(tmp)
        manifest_path = work / "m.yaml"
        manifest_path.write_text(manifest_text(buckets, per_bucket))
        asyncio.run(all_runs(work, manifest_path))
    done = min(len(r) for r in results.values())
    if done < args.runs:
        print(f"budget of {args.budget:.0f} s used up: {done} of {args.runs} seeds ran for both policies")
    rows = []
    for name, by_seed in results.items():
        outs = list(by_seed.values())
        n = len(outs)
        ok = sum(o.converged for o in outs)
        rows.append([name, n, ok, f"{100 * ok / max(n, 1):.1f}%", f"{sum(o.requests for o in outs) / max(n, 1):.0f}",
                     f"{sum(o.wall_s for o in outs) / max(n, 1):.2f}"])
    print(table(["policy", "runs", "converged", "rate", "requests/run", "wall s/run"], rows))
    base_fail = sum(not o.converged for o in results["baseline"].values())
    new_fail = sum(not o.converged for o in results["retry"].values())
    print(f"failed first runs: retry {new_fail}, baseline {base_fail}; "
          f"ratio retry/baseline {new_fail / base_fail:.3f}" if base_fail else
          f"failed first runs: retry {new_fail}, baseline {base_fail}")
    for name, by_seed in results.items():
        for seed, o in sorted(by_seed.items()):
            if not o.converged:
                print(f"  {name} seed {seed}: {o.why}")


if __name__ == "__main__":
    main()
