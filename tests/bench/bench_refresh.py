"""Benchmark: `reconciler plan` on an in-sync estate against `reconciler serve --latency-ms`,
compared with the loop a user would write with the official SDK, and with the ideal.

    python tests/bench/bench_refresh.py [--estates 10x40,50x100] [--latency-ms 20]
                                        [--parallelism 16] [--repeat 3] [--sdk-budget 15]
                                        [--estate-budget 150] [--profile]

Not a test (pytest ignores tests/bench): it prints medians and ratios measured in one run.
For each estate (BUCKETS x INDEXES per bucket, every bucket with a policy) it writes the
estate straight into an emulator database (no latency), writes the matching manifest and
starts `reconciler serve --latency-ms N` on it. Then, interleaved, REPEAT times (median):

  plan     `reconciler plan -f M --parallelism P --detailed-exitcode` as a whole process,
           Python start-up included (what a user or a CI job pays); exit 0 (in sync) is
           checked every time. Its CPU time and the emulator's CPU time are recorded too;
  sdk      the official SDK (sync, sequential, as SDK code naturally is): ListVectorBuckets,
           then per bucket GetVectorBucket, GetVectorBucketPolicy, ListIndexes (every page)
           and GetIndex for each index. It does not even diff. When a full loop would take
           longer than --sdk-budget seconds it runs on the first K buckets and is scaled
           linearly to all of them (the output says so). Against it, reconciler's lead is
           mostly its parallelism;
  sdk-16   the fair peer: the same reads with the official SDK over a pool of --parallelism
           threads, one SDK client per thread (a shared requests session would cap reuse at
           its 10 pooled connections): ListVectorBuckets, then every bucket's three reads in
           the pool, and each GetIndex in the pool as soon as its ListIndexes page is in.
           Always the full estate, never scaled;
  ideal    max(4 round trips, reads x latency / parallelism): the least time the reads can
           take at this latency and parallelism with no client or server cost at all, where
           reads is counted from reconciler's own refresh (its progress callback).

Once per estate, as a breakdown: `reconciler validate -f M` as a process (the floor: start-up,
imports, manifest load, no API call) and `live.refresh` in this process (the reads alone).
If one run of an estate is slow, its repeats are cut to fit --estate-budget (said so).
--profile adds one cProfile'd in-process refresh per estate (shares and top functions).

Goals: plan is >= 10x faster than the SDK loop, and within 1.5x of the ideal at
parallelism 16. The ratio to sdk-16 is what the tool itself adds, parallelism aside.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, machine, manifest_yaml, median, populate, profile, table  # noqa: E402

from tests.support.emulator import running_emulator  # noqa: E402
from tests.support.sdk import sdk_client  # noqa: E402


@dataclass
class Estate:
    buckets: int
    per_bucket: int

    @property
    def label(self) -> str:
        return f"{self.buckets}x{self.per_bucket}"

    @property
    def indexes(self) -> int:
        return self.buckets * self.per_bucket

    def expected_reads(self) -> int:
        """What refresh must read without a prune scope: per bucket ListIndexes (pages of 500)
        + GetVectorBucketPolicy, then one GetIndex per declared index."""
        return self.buckets * (list_pages(self.per_bucket, 500) + 1 + self.per_bucket)

    def sdk_calls_per_bucket(self) -> int:
        """GetVectorBucket, GetVectorBucketPolicy, ListIndexes with the SDK's default page (100)."""
        return 2 + list_pages(self.per_bucket, 100) + self.per_bucket


def list_pages(items: int, page: int) -> int:
    """ListIndexes calls for `items` indexes: the emulator, like S3 Vectors, sends a nextToken
    after every full page, so a multiple of the page size costs one more (empty) page."""
    return items // page + 1


@dataclass
class Samples:
    plan: list[float] = field(default_factory=list)
    plan_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    sdk: list[float] = field(default_factory=list)
    sdk_pool: list[float] = field(default_factory=list)


def parse_estates(text: str) -> list[Estate]:
    out = []
    for part in text.split(","):
        b, _, i = part.strip().lower().partition("x")
        out.append(Estate(int(b), int(i)))
    return out


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    repo = str(Path(__file__).resolve().parents[2])
    env.update({"TOS_ENDPOINT": url, "TOS_ACCOUNT_ID": ACCOUNT, "NO_COLOR": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))})
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path, want: int = 0) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `reconciler` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "reconciler", *args], env=env, cwd=cwd,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != want:
        raise SystemExit(f"reconciler {' '.join(args)} exited {proc.returncode} (wanted {want}):\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _refresh(url: str, manifest_path: Path, parallelism: int) -> tuple[float, int, int]:
    """(seconds, reads, GetIndex calls) of live.refresh in-process, with the CLI's client settings."""
    from reconciler.client import VectorsClient
    from reconciler.manifest import load_manifests
    from reconciler.state.refresh import refresh

    manifest = load_manifests([str(manifest_path)], {})
    reads = 0

    def progress(done: int, started: int) -> None:
        nonlocal reads
        reads = max(reads, done)

    async with VectorsClient(endpoint=url, account_id=ACCOUNT, max_connections=parallelism) as client:
        start = time.perf_counter()
        state = await refresh(client, manifest, parallelism=parallelism, progress=progress)
        elapsed = time.perf_counter() - start
    read_indexes = sum(1 for b in state.buckets.values() for i in b.indexes.values() if i.attrs is not None)
    return elapsed, reads, read_indexes


def sdk_loop(url: str, limit_buckets: int | None) -> tuple[float, float, int, int]:
    """The user's SDK loop. Returns (seconds for ListVectorBuckets, seconds for the buckets
    visited, buckets visited, calls made)."""
    sdk = sdk_client(url)
    calls = 0
    try:
        start = time.perf_counter()
        names, token = [], None
        while True:
            out = sdk.list_vector_buckets(next_token=token)
            calls += 1
            names += [b.vector_bucket_name for b in out.vector_buckets]
            token = out.next_token
            if not token:
                break
        listed = time.perf_counter()
        visit = names if limit_buckets is None else names[:limit_buckets]
        seen = {}
        for name in visit:
            bucket = sdk.get_vector_bucket(name, ACCOUNT)
            calls += 1
            policy = sdk.policy_or_none(name, ACCOUNT)
            calls += 1
            indexes, token = [], None
            while True:
                page = sdk.list_indexes(name, ACCOUNT, next_token=token)
                calls += 1
                for summary in page.indexes:
                    indexes.append(sdk.get_index(name, ACCOUNT, summary.index_name).index)
                    calls += 1
                token = page.next_token
                if not token:
                    break
            seen[name] = (bucket, policy, indexes)
        done = time.perf_counter()
    finally:
        sdk.close()
    return listed - start, done - listed, len(visit), calls


def sdk_pool_loop(url: str, workers: int) -> tuple[float, int]:
    """The same reads as sdk_loop, over `workers` threads with a client each: (seconds, calls)."""
    local, clients, lock = threading.local(), [], threading.Lock()
    calls = 0

    def counted(read: Callable[..., Any]) -> Callable[..., Any]:
        """`read(sdk, *args)` on this thread's own client, counted."""
        def run(*args: Any) -> Any:
            nonlocal calls
            if not hasattr(local, "sdk"):
                local.sdk = sdk_client(url)
                with lock:
                    clients.append(local.sdk)
            result = read(local.sdk, *args)
            with lock:
                calls += 1
            return result
        return run

    list_buckets = counted(lambda sdk, token: sdk.list_vector_buckets(next_token=token))
    get_bucket = counted(lambda sdk, name: sdk.get_vector_bucket(name, ACCOUNT))
    get_policy = counted(lambda sdk, name: sdk.policy_or_none(name, ACCOUNT))
    list_page = counted(lambda sdk, name, token: sdk.list_indexes(name, ACCOUNT, next_token=token))
    get_index = counted(lambda sdk, name, index: sdk.get_index(name, ACCOUNT, index).index)
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            names: list[str] = []
            token = None
            while True:
                out = pool.submit(list_buckets, token).result()
                names += [b.vector_bucket_name for b in out.vector_buckets]
                token = out.next_token
                if not token:
                    break
            pending: list[Future[Any]] = []
            pages: list[Future[Any]] = []
            for name in names:
                pending += [pool.submit(get_bucket, name), pool.submit(get_policy, name)]
                pages.append(pool.submit(list_page, name, None))
            for future, name in zip(pages, names, strict=True):
                while True:  # a bucket's pages in order; its GetIndex calls go out per page
                    page = future.result()
                    pending += [pool.submit(get_index, name, i.index_name) for i in page.indexes]
                    if not page.next_token:
                        break
                    future = pool.submit(list_page, name, page.next_token)
            for f in pending:
                f.result()
        elapsed = time.perf_counter() - start
    finally:
        for c in clients:
            c.close()
    return elapsed, calls


async def _round_trip(url: str, parallelism: int, rounds: int = 20) -> float:
    """Mean seconds per GetIndex with `parallelism` always in flight (bench-000/idx-0000)."""
    from reconciler.client import VectorsClient

    times: list[float] = []
    async with VectorsClient(endpoint=url, account_id=ACCOUNT, max_connections=parallelism) as client:
        await asyncio.gather(*(client.get_index("bench-000", "idx-0000") for _ in range(parallelism)))  # connect

        async def worker() -> None:
            for _ in range(rounds):
                start = time.perf_counter()
                await client.get_index("bench-000", "idx-0000")
                times.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(parallelism)))
    return median(times)


def bare_round_trip(latency_ms: float, parallelism: int) -> float:
    """_round_trip against tests/bench/_bare_server.py, which only sleeps (own process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_bare_server.py")), str(port),
                             str(latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return asyncio.run(_round_trip(f"http://127.0.0.1:{port}", parallelism))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_estate(estate: Estate, args: argparse.Namespace, work: Path) -> dict[str, object]:
    data, manifest = work / f"data-{estate.label}", work / f"{estate.label}.yaml"
    build_s = populate(data, estate.buckets, estate.per_bucket)
    manifest.write_text(manifest_yaml(estate.buckets, estate.per_bucket))
    lat = args.latency_ms / 1000
    per_bucket_est = estate.sdk_calls_per_bucket() * (lat + 0.004)
    full_est = (lat + 0.004) + estate.buckets * per_bucket_est
    sample = None if full_est <= args.sdk_budget else max(1, int(args.sdk_budget // per_bucket_est))
    print(f"\n== estate {estate.label}: {estate.buckets} buckets x {estate.per_bucket} indexes, "
          f"each bucket with a policy (built in {build_s:.2f} s without latency)", flush=True)
    plan_args = ["plan", "-f", str(manifest), "--parallelism", str(args.parallelism), "--detailed-exitcode"]
    s = Samples()
    with running_emulator(data, "--latency-ms", str(args.latency_ms)) as emu:
        env = cli_env(emu.url)
        run_cli(["--version"], env, work)  # warm the page cache
        # diagnostics, once: the process floor and the in-process refresh (which also
        # counts the reads; every plan run below checks the estate is in sync: exit 0)
        floor_s, floor_cpu = run_cli(["validate", "-f", str(manifest)], env, work, want=0)
        cpu0 = process_cpu(emu.process.pid)
        refresh_s, reads, got_index = asyncio.run(_refresh(emu.url, manifest, args.parallelism))
        refresh_server_cpu = process_cpu(emu.process.pid) - cpu0
        emulator_rt = asyncio.run(_round_trip(emu.url, args.parallelism))
        if reads != estate.expected_reads():
            print(f"   note: refresh made {reads} reads, {estate.expected_reads()} expected")
        if got_index != estate.indexes:
            print(f"   note: refresh read {got_index} indexes of {estate.indexes}")
        print(f"   once: floor (validate process) {floor_s:.2f} s ({floor_cpu:.2f} s CPU), in-process refresh "
              f"{refresh_s:.2f} s for {reads} reads (emulator CPU {refresh_server_cpu:.2f} s)", flush=True)
        if args.profile:
            profile(f"live.refresh of {estate.label} over HTTP at {args.latency_ms:g} ms",
                    lambda: asyncio.run(_refresh(emu.url, manifest, args.parallelism)))
        sdk_calls, repeat, r, started = 0, args.repeat, 0, time.perf_counter()
        while r < repeat:
            cpu0 = process_cpu(emu.process.pid)
            wall, cpu = run_cli(plan_args, env, work, want=0)
            s.plan.append(wall)
            s.plan_cpu.append(cpu)
            s.server_cpu.append(process_cpu(emu.process.pid) - cpu0)
            t_list, t_buckets, visited, sdk_calls = sdk_loop(emu.url, sample)
            s.sdk.append(t_list + t_buckets * estate.buckets / visited)
            pool_s, pool_calls = sdk_pool_loop(emu.url, args.parallelism)
            s.sdk_pool.append(pool_s)
            r += 1
            print(f"   run {r}/{repeat}: plan {s.plan[-1]:.2f} s (process CPU {s.plan_cpu[-1]:.2f} s, emulator CPU "
                  f"{s.server_cpu[-1]:.2f} s), sdk {s.sdk[-1]:.2f} s"
                  f"{'' if sample is None else f' (scaled from {visited} buckets)'}, sdk-{args.parallelism} "
                  f"{pool_s:.2f} s ({pool_calls} calls)", flush=True)
            if r == 1 and repeat > 1:
                per_run = time.perf_counter() - started
                fits = max(1, int(args.estate_budget // per_run))
                if fits < repeat:
                    repeat = fits
                    print(f"   note: one run takes {per_run:.0f} s; repeats cut to {repeat} to keep this estate "
                          f"within --estate-budget {args.estate_budget:g} s")
    ideal = max(4 * lat, reads * lat / args.parallelism)
    plan_s, sdk_s, pool_s = median(s.plan), median(s.sdk), median(s.sdk_pool)
    return {
        "estate": estate.label, "reads": reads, "plan_s": plan_s, "plan_cpu": median(s.plan_cpu),
        "server_cpu": median(s.server_cpu), "floor_s": floor_s, "floor_cpu": floor_cpu, "refresh_s": refresh_s,
        "sdk_s": sdk_s,
        "ideal_s": ideal, "runs": len(s.plan),
        "sdk_calls": sdk_calls if sample is None else 1 + estate.buckets * estate.sdk_calls_per_bucket(),
        "sdk_sampled": sample, "speedup": sdk_s / plan_s, "vs_ideal": plan_s / ideal,
        "pool_s": pool_s, "vs_pool": pool_s / plan_s,
        "refresh_vs_ideal": refresh_s / ideal, "emulator_rt": emulator_rt,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--estates", default="10x40,50x100", help="BUCKETSxINDEXES, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sdk-budget", type=float, default=15.0,
                        help="longest one SDK loop may run (s); beyond it, sample buckets and scale (default 15)")
    parser.add_argument("--estate-budget", type=float, default=150.0,
                        help="cut the repeats of an estate whose runs would take longer than this (s; default 150)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile one in-process refresh per estate and print where its time goes")
    args = parser.parse_args()
    estates = parse_estates(args.estates)
    if any(e.buckets > 100 for e in estates):
        parser.error("an account holds at most 100 vector buckets")
    print(f"bench_refresh {time.strftime('%Y-%m-%d %H:%M')}: latency {args.latency_ms:g} ms, parallelism "
          f"{args.parallelism}, median of up to {args.repeat}; {machine()}")
    # Measure reconciler as installed from a wheel, whose modules pip compiles: an editable
    # checkout run with PYTHONDONTWRITEBYTECODE=1 would compile ~50 modules in every process.
    compileall.compile_dir(str(Path(__file__).resolve().parents[2] / "reconciler"), quiet=1)
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
        for estate in estates:
            results.append(bench_estate(estate, args, Path(tmp)))
    p = args.parallelism
    rows = [[r["estate"], r["reads"], f"{r['plan_s']:.2f}", f"{r['sdk_s']:.2f}" + ("*" if r["sdk_sampled"] else ""),
             f"{r['pool_s']:.2f}", f"{r['ideal_s']:.2f}", f"{r['speedup']:.1f}x", f"{r['vs_pool']:.2f}x",
             f"{r['vs_ideal']:.2f}x", r["runs"]] for r in results]
    print("\n" + table(["estate", "reads", "reconciler s", "SDK-loop s", f"SDK {p} threads s", "ideal s",
                        "speedup vs SDK", f"speedup vs {p} threads", "ratio to ideal", "runs"], rows))
    rows = [[r["estate"], f"{r['plan_cpu']:.2f}", f"{r['server_cpu']:.2f}", f"{r['floor_s']:.2f}",
             f"{r['refresh_s']:.2f}", f"{r['refresh_vs_ideal']:.2f}x",
             f"{(r['plan_cpu'] - r['floor_cpu']) * 1000 / max(1, r['reads']):.2f}",
             f"{r['pool_s'] / r['refresh_s']:.2f}x"] for r in results]
    print("\nWhere the time goes:")
    print(table(["estate", "plan CPU s", "emulator CPU s", "floor s", "refresh s", "refresh/ideal",
                 "client CPU ms/read", f"SDK {p} threads / refresh"], rows))
    print("\nreconciler s: the whole `reconciler plan --detailed-exitcode` process (median; exit 0 = in sync). "
          "plan CPU s: its user+system CPU;\nemulator CPU s: the server's CPU during it. floor s: one "
          "`reconciler validate` process (start-up, imports, manifest load).\nclient CPU ms/read: "
          "(plan CPU - floor CPU) / reads. refresh s: one live.refresh "
          f"in-process. ideal = max(4 x latency, reads x latency / parallelism). Goals: speedup >= 10x, ratio to "
          f"ideal <= 1.5x.\nSDK-loop s: the official SDK, sequential (what the 10x goal is against: mostly "
          f"parallelism). SDK {p} threads s: the same reads over {p} threads, a client each, in this process "
          f"(no start-up, no manifest, no diff); speedup vs {p} threads = its time / reconciler's "
          f"(>1: reconciler faster);\n"
          f"SDK {p} threads / refresh: the same, against the in-process refresh (reads alone on both sides).")
    for r in results:
        if r["sdk_sampled"]:
            print(f"* {r['estate']}: the SDK loop ran on the first {r['sdk_sampled']} buckets and was scaled "
                  f"linearly to all ({r['sdk_calls']} calls in full)")
        print(f"{r['estate']}: speedup goal {'met' if r['speedup'] >= 10 else 'MISSED'}, "
              f"ideal goal {'met' if r['vs_ideal'] <= 1.5 else 'MISSED'}")
    bare = bare_round_trip(args.latency_ms, args.parallelism)
    shown = ", ".join(f"{r['emulator_rt'] * 1000:.1f} ms ({r['estate']})" for r in results)
    print(f"\nOne GetIndex with {args.parallelism} always in flight (median): against the emulator {shown}; "
          f"against a server that only sleeps {args.latency_ms:g} ms (tests/bench/_bare_server.py) "
          f"{bare * 1000:.1f} ms.\nThe difference is the emulator's own CPU, which requests arriving "
          f"together wait for in turn; the ideal counts the latency alone.")
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
