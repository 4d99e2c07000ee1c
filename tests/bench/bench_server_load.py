"""Benchmark: how long requests wait at `reconciler serve` under a bounded load of many
keep-alive clients, and above all how long a request on a NEW connection waits.

    python tests/bench/bench_server_load.py [--clients 256] [--seconds 10] [--probe-every 0.05]
                                            [--probe-timeout 60] [--serve-arg=--latency-ms=0 ...]

Not a test (pytest ignores tests/bench). It starts `reconciler serve` on 127.0.0.1
(`tests/support/emulator.py`) with one bucket in it, then:

  baseline  new connections one at a time on the idle server (connect, one request with
            `Connection: close`, answer read): the median is the ratio's denominator;
  load      --clients keep-alive clients in a child process, each sending GetVectorBucket
            and reading the answer in a loop for --seconds (the load stops by itself);
  probes    meanwhile, from this process, a new connection every --probe-every seconds,
            each with one request, not waiting for the previous probe.

It prints, for the keep-alive requests and for the probes, the count, median, p99 and
maximum wait, and the probes' maximum as a ratio to the idle baseline. The goal (issue 10):
no request waits more than 2 s under a load of 256 clients. Everything talks to
127.0.0.1 only, and every loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, machine  # noqa: E402

from tests.support.emulator import running_emulator  # noqa: E402

BUCKET = "load-0"
BODY = json.dumps({"vectorBucketName": BUCKET}).encode()
REQUEST = (b"POST /GetVectorBucket HTTP/1.1\r\nHost: %s-%s.127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n" % (BUCKET.encode(), ACCOUNT.encode(), len(BODY)))
KEEP_ALIVE = REQUEST + b"\r\n" + BODY
CLOSE = REQUEST + b"Connection: close\r\n\r\n" + BODY


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request and read its whole answer; the status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def _probe(port: int, timeout: float) -> tuple[float, int]:
    """(seconds, status) of one request on a new connection; status 0 for a failure."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                status = await _exchange(reader, writer, CLOSE)
            finally:
                writer.close()
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        status = 0
    return time.perf_counter() - start, status


async def _load_client(port: int, deadline: float, waits: list[float], failures: list[int]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        failures.append(1)
        return
    try:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            if await _exchange(reader, writer, KEEP_ALIVE) != 200:
                failures.append(1)
            waits.append(time.perf_counter() - start)
    except (OSError, asyncio.IncompleteReadError):
        failures.append(1)
    finally:
        writer.close()


async def _load(port: int, clients: int, seconds: float) -> dict[str, object]:
    deadline = time.perf_counter() + seconds
    waits: list[float] = []
    failures: list[int] = []
    async with asyncio.timeout(seconds + 120):  # bounded even if the server stops answering
        await asyncio.gather(*(_load_client(port, deadline, waits, failures) for _ in range(clients)))
    return {"waits": waits, "failures": len(failures)}


def load_worker(port: int, clients: int, seconds: float, out: Path) -> None:
    """The child process: the keep-alive load, its waits written to `out` as JSON."""
    out.write_text(json.dumps(asyncio.run(_load(port, clients, seconds))))


async def _probes(port: int, seconds: float, every: float, timeout: float) -> list[tuple[float, int]]:
    tasks = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        tasks.append(asyncio.ensure_future(_probe(port, timeout)))
        await asyncio.sleep(every)
    return list(await asyncio.gather(*tasks))


def _figures(name: str, waits: list[float], failed: int) -> list[str]:
    if not waits:
        return [name, "0", str(failed), "-", "-", "-"]
    ordered = sorted(waits)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return [name, str(len(waits)), str(failed), f"{statistics.median(ordered) * 1000:.1f}", f"{p99 * 1000:.1f}",
            f"{ordered[-1] * 1000:.1f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--probe-every", type=float, default=0.05)
    parser.add_argument("--probe-timeout", type=float, default=60.0)
    parser.add_argument("--serve-arg", action="append", default=[], help="an extra `reconciler serve` argument")
    parser.add_argument("--load-worker", nargs=4, metavar=("PORT", "CLIENTS", "SECONDS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_worker:
        port, clients, seconds, out = args.load_worker
        load_worker(int(port), int(clients), float(seconds), Path(out))
        return 0

    print(f"bench_server_load: {machine()}; {args.clients} keep-alive clients for {args.seconds:g} s, "
          f"a new connection every {args.probe_every:g} s")
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "data", *args.serve_arg) as emu:
        import httpx

        r = httpx.post(f"{emu.url}/CreateVectorBucket", json={"vectorBucketName": BUCKET},
                       headers={"host": "127.0.0.1"}, timeout=30)
        assert r.status_code == 200, r.text
        idle = [asyncio.run(_probe(emu.port, args.probe_timeout)) for _ in range(20)]
        assert all(status == 200 for _, status in idle), idle
        baseline = statistics.median(t for t, _ in idle)

        out = Path(tmp) / "load.json"
        worker = subprocess.Popen([sys.executable, __file__, "--load-worker", str(emu.port), str(args.clients),
                                   str(args.seconds), str(out)])
        try:
            time.sleep(min(1.0, args.seconds / 4))  # let the clients connect and get busy
            probes = asyncio.run(_probes(emu.port, args.seconds * 0.75, args.probe_every, args.probe_timeout))
            worker.wait(timeout=args.seconds + 180)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        load = json.loads(out.read_text())
        server_ok = emu.process.poll() is None

    probe_waits = [t for t, status in probes if status == 200]
    rows = [["requests", "count", "failed", "median ms", "p99 ms", "max ms"],
            _figures("idle: new connection", [t for t, _ in idle], 0),
            _figures("load: keep-alive", load["waits"], load["failures"]),
            _figures("load: new connection", probe_waits, len(probes) - len(probe_waits))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    worst = max([*load["waits"], *probe_waits], default=0.0)
    print(f"new connection under load: max {max(probe_waits, default=0.0) / baseline:.0f}x the idle median "
          f"({baseline * 1000:.1f} ms); longest wait of any request {worst:.2f} s (goal: under 2 s); "
          f"failed probes {len(probes) - len(probe_waits)}; server still running: {server_ok}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
