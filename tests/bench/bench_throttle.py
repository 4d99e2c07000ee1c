"""Benchmark: `reconciler plan` against a service that throttles (HTTP 429), compared with
the ideal under the quota and with the same plan unthrottled.

    python tests/bench/bench_throttle.py [--estate 10x40] [--latency-ms 20] [--parallelism 16]
                                         [--rps 100] [--inflight 8] [--burst 10]
                                         [--retry-after 0] [--window 0.5] [--zoom 1]

Not a test (pytest ignores tests/bench): it prints figures measured in one run. It writes
an in-sync estate of BUCKETS x INDEXES (every bucket with a policy) straight into an
emulator database, starts `reconciler serve --latency-ms N` on it and runs
`reconciler plan -f M --parallelism P --detailed-exitcode` as a whole process:

  baseline     straight to the emulator: no quota;
  rps          through tests/support/throttling_proxy.py with a quota of --rps requests per
               second (token bucket of --burst), twice: (a) as is, where the client's own
               flow control (AIMD limiter and adaptive pace, reconciler/client/limits.py)
               reacts to the 429s, and (b) with `--max-rps` equal to the quota;
  inflight     through the proxy with a quota of --inflight requests in flight, twice:
               (a) as is (AIMD), and (b) with `--parallelism` equal to the quota.

For each run: the process's wall time, the 429s, the span from the first request to the
last as the proxy saw them (the refresh without Python start-up), the ideal under the quota
(reads / rps, or reads x latency / inflight), and span / ideal. Then a time series per
--window seconds: requests arriving, 429s among them, the time-weighted mean number of
requests in flight at the proxy and the most requests out at an arrival (those in flight
plus the arriving one, refused or not). They show the concurrency falling on 429s and
coming back; the first --zoom seconds are printed again at a fifth of the window. A run
that does not exit 0 (a call that ran out of retries) is reported, not fatal. A quota of
0 skips its scenario.
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, machine, manifest_yaml, populate, table  # noqa: E402

from tests.support.emulator import running_emulator  # noqa: E402
from tests.support.throttling_proxy import ThrottlingProxy, Window, throttling_proxy  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    name: str
    wall: float
    code: int
    error: str = ""
    passed: int = 0
    throttled: int = 0
    span: float = 0.0
    mean_inflight: float = 0.0
    most_attempts: int = 1
    ideal: float | None = None
    series: list[Window] | None = None
    zoom: list[Window] | None = None


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env.update({"TOS_ENDPOINT": url, "TOS_ACCOUNT_ID": ACCOUNT, "NO_COLOR": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
    return env


def plan(url: str, manifest: Path, cwd: Path, parallelism: int, extra: list[str]) -> tuple[float, int, str]:
    """(wall seconds, exit code, first error line) of one `reconciler plan` process."""
    args = [sys.executable, "-m", "reconciler", "plan", "-f", str(manifest), "--parallelism", str(parallelism),
            "--detailed-exitcode", *extra]
    start = time.perf_counter()
    proc = subprocess.run(args, env=cli_env(url), cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    error = next((ln for ln in proc.stderr.splitlines() if ln.startswith("error")), proc.stderr.strip()[-200:])
    return wall, proc.returncode, "" if proc.returncode == 0 else error


def through(proxy: ThrottlingProxy, name: str, manifest: Path, cwd: Path, parallelism: int, extra: list[str],
            ideal: float, window: float, zoom: float) -> Run:
    wall, code, error = plan(proxy.url, manifest, cwd, parallelism, extra)
    records = proxy.snapshot()
    series = proxy.series(window)
    fine = proxy.series(window / 5)[: int(round(zoom / (window / 5)))]
    span = (records[-1].t - records[0].t) if records else 0.0
    busy = sum(r.done - r.t for r in records if r.done is not None)
    return Run(name, wall, code, error, passed=sum(not r.refused for r in records),
               throttled=sum(r.refused for r in records), span=span, mean_inflight=busy / span if span else 0.0,
               most_attempts=max((r.attempt for r in records), default=1), ideal=ideal, series=series, zoom=fine)


def print_series(runs: list[Run], window: float, zoom: bool = False) -> None:
    """The time series of two runs side by side: requests / 429s / mean and most in flight per window."""
    rows = []
    pick = (lambda r: r.zoom or []) if zoom else (lambda r: r.series or [])
    length = max(len(pick(r)) for r in runs)
    for k in range(length):
        row: list[object] = [f"{k * window:.1f}"]
        for r in runs:
            w = pick(r)[k] if k < len(pick(r)) else None
            row += [w.requests, w.throttled, f"{w.mean_inflight:.1f}", w.max_inflight] if w else ["", "", "", ""]
        rows.append(row)
    headers = ["t s"]
    for r in runs:
        short = r.name.split(": ", 1)[-1]
        headers += [f"{short} req", "429", "mean in flight", "max"]
    print(table(headers, rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--estate", default="10x40", help="BUCKETSxINDEXES (default 10x40)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--rps", type=float, default=100.0, help="the proxy's request-rate quota (0: skip)")
    parser.add_argument("--inflight", type=int, default=8, help="the proxy's in-flight quota (0: skip)")
    parser.add_argument("--burst", type=float, default=10.0, help="the rps quota's token bucket size (default 10)")
    parser.add_argument("--retry-after", default="0", help="Retry-After of the proxy's 429s ('' for none)")
    parser.add_argument("--window", type=float, default=0.5, help="time-series window (s)")
    parser.add_argument("--zoom", type=float, default=1.0,
                        help="also print the first ZOOM seconds at a fifth of the window (0: no)")
    args = parser.parse_args()
    b, _, i = args.estate.lower().partition("x")
    buckets, per_bucket = int(b), int(i)
    reads = buckets * (2 + per_bucket)  # per bucket: ListIndexes (one page up to 500), the policy, a GetIndex each
    lat = args.latency_ms / 1000
    retry_after = args.retry_after or None
    print(f"bench_throttle {time.strftime('%Y-%m-%d %H:%M')}: estate {buckets}x{per_bucket} ({reads} reads), "
          f"latency {args.latency_ms:g} ms, parallelism {args.parallelism}, Retry-After {retry_after!r}; {machine()}")
    # Measure reconciler as installed from a wheel, whose modules pip compiles: an editable
    # checkout run with PYTHONDONTWRITEBYTECODE=1 would compile ~50 modules in every process.
    compileall.compile_dir(str(REPO / "reconciler"), quiet=1)
    started = time.perf_counter()
    runs: list[Run] = []
    pairs: list[list[Run]] = []
    with tempfile.TemporaryDirectory(prefix="bench-throttle-") as tmp:
        work = Path(tmp)
        populate(work / "data", buckets, per_bucket)
        manifest = work / "m.yaml"
        manifest.write_text(manifest_yaml(buckets, per_bucket))
        with running_emulator(work / "data", "--latency-ms", f"{args.latency_ms:g}") as emu:
            plan(emu.url, manifest, work, args.parallelism, ["--max-rps", "1000"])  # warm-up, not counted
            wall, code, error = plan(emu.url, manifest, work, args.parallelism, [])
            runs.append(Run("baseline: no quota", wall, code, error, passed=reads))
            print(f"   baseline: {wall:.2f} s", flush=True)
            scenarios = []
            if args.rps > 0:
                scenarios.append((f"rps {args.rps:g}", dict(rps=args.rps, burst=args.burst), reads / args.rps,
                                  [("AIMD", args.parallelism, []),
                                   (f"--max-rps {args.rps:g}", args.parallelism, ["--max-rps", f"{args.rps:g}"])]))
            if args.inflight > 0:
                scenarios.append((f"inflight {args.inflight}", dict(max_inflight=args.inflight),
                                  reads * lat / args.inflight,
                                  [("AIMD", args.parallelism, []),
                                   (f"--parallelism {args.inflight}", args.inflight, [])]))
            for label, quota, ideal, variants in scenarios:
                pair = []
                for variant, parallelism, extra in variants:
                    with throttling_proxy(emu.url, retry_after=retry_after, **quota) as proxy:
                        run = through(proxy, f"{label}: {variant}", manifest, work, parallelism, extra, ideal,
                                      args.window, args.zoom)
                    print(f"   {run.name}: {run.wall:.2f} s, {run.throttled} x 429"
                          + (f", exit {run.code}: {run.error}" if run.code else ""), flush=True)
                    runs.append(run)
                    pair.append(run)
                pairs.append(pair)

    rows = []
    for r in runs:
        share = r.throttled / (r.passed + r.throttled) if r.passed + r.throttled else 0.0
        rows.append([r.name, f"{r.wall:.2f}", "ok" if r.code == 0 else f"exit {r.code}", r.passed, r.throttled,
                     f"{share:.0%}", f"{r.span:.2f}" if r.ideal else "", f"{r.ideal:.2f}" if r.ideal else "",
                     f"{r.span / r.ideal:.2f}x" if r.ideal else "", f"{r.wall / r.ideal:.2f}x" if r.ideal else "",
                     f"{r.mean_inflight:.1f}" if r.ideal else "", r.most_attempts if r.ideal else ""])
    print("\n" + table(["run", "wall s", "result", "passed", "429s", "429 share", "span s", "ideal s",
                        "span/ideal", "wall/ideal", "mean in flight", "most attempts"], rows))
    print("\nwall s: the whole `reconciler plan` process (start-up included). passed: requests that reached the "
          "emulator (= reads when the plan succeeds). span s: first to last request at the proxy.\nideal: reads / rps "
          "quota, or reads x latency / in-flight quota. mean in flight: time-weighted, at the proxy, over the span. "
          "most attempts: of one call (6 = the retry limit).")
    for pair in pairs:
        print(f"\nTime series, {pair[0].name.split(':')[0]} (per {args.window:g} s: requests arriving, 429s among "
              f"them, time-weighted mean of requests in flight at the proxy, most out at an arrival):")
        print_series(pair, args.window)
        if args.zoom > 0:
            print(f"The first {args.zoom:g} s per {args.window / 5:g} s:")
            print_series(pair, args.window / 5, zoom=True)
    for r in runs:
        if r.code:
            print(f"\n{r.name}: exit {r.code}: {r.error}")
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
