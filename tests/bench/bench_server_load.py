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

First, in this process and without sockets, it measures the guard's own cost: the time
one signed-size request takes from `data_received` until its answer is written, in
uvicorn's HttpToolsProtocol and in the guarded subclass (reconciler/emulator/http_limits.py),
on a stub transport with a trivial app, interleaved, the best of --protocol-rounds rounds
of 4,000 each.

It then prints, for the keep-alive requests and for the probes, the count, median, p99 and
maximum wait, the probes' maximum as a ratio to the idle baseline, and the server's CPU
time per request during the load (from /proc: far less noisy than waits on a shared
machine, so the figure to compare two versions of the server by). The goal (issue 10):
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _StubTransport(asyncio.Transport):
    """Counts writes; enough of a transport for the protocol classes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closing = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 1), "peername": ("127.0.0.1", 2)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _trivial_app(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] != "http":
        return
    await receive()  # type: ignore[operator]
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]


SIGNED = (b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
          b"x-tos-date: 20261201T000000Z\r\nx-tos-content-sha256: UNSIGNED-PAYLOAD\r\nauthorization: TOS4-HMAC-SHA256 "
          b"Credential=AKLTexample/20261201/cn-beijing/tosvectors/request, SignedHeaders=host;x-tos-date, "
          b"Signature=" + b"0" * 64 + b"\r\n\r\n{}")


async def _request_cost(protocol_class: type, requests: int) -> float:
    import uvicorn
    from uvicorn.server import ServerState

    config = uvicorn.Config(_trivial_app, http=protocol_class, ws="none", lifespan="off", log_level="warning")
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={},
                              _loop=asyncio.get_running_loop())
    transport = _StubTransport()
    protocol.connection_made(transport)
    start = time.perf_counter()
    for _ in range(requests):
        writes = transport.writes
        protocol.data_received(SIGNED)
        while transport.writes < writes + 2:  # the app's task answers on the next loop passes
            await asyncio.sleep(0)
    return (time.perf_counter() - start) / requests


def protocol_cost(rounds: int) -> tuple[float, float]:
    """(uvicorn's, the guard's) best time per request through the protocol, in seconds."""
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from reconciler.emulator.http_limits import Limits, guarded_protocol

    async def measure() -> tuple[float, float]:
        plain, guarded = [], []
        for _ in range(rounds):
            plain.append(await _request_cost(HttpToolsProtocol, 4000))
            guarded.append(await _request_cost(guarded_protocol(Limits()), 4000))
        return min(plain), min(guarded)

    return uvloop.run(measure())


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
    parser.add_argument("--protocol-rounds", type=int, default=30)
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
    if args.protocol_rounds > 0:
        plain, guarded = protocol_cost(args.protocol_rounds)
        print(f"one request through the protocol (stub transport, trivial app): uvicorn {plain * 1e6:.2f} us, guarded {guarded * 1e6:.2f} us "
              f"({guarded / plain:.2f}x, +{(guarded - plain) * 1e6:.2f} us)")
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "data", *args.serve_arg) as emu:
        import httpx

        r = httpx.post(f"{emu.url}/CreateVectorBucket", json={"vectorBucketName": BUCKET},
                       headers={"host": "127.0.0.1"}, timeout=30)
        assert r.status_code == 200, r.text
        idle = [asyncio.run(_probe(emu.port, args.probe_timeout)) for _ in range(20)]
        assert all(status == 200 for _, status in idle), idle
        baseline = statistics.median(t for t, _ in idle)

        out = Path(tmp) / "load.json"
        cpu_before = _cpu_seconds(emu.process.pid)
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
        cpu = _cpu_seconds(emu.process.pid) - cpu_before  # before poll(), which reaps a dead server
        server_ok = emu.process.poll() is None
        if not server_ok:
            print(f"the server exited ({emu.process.returncode}):\n{emu.stderr_text()}")

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
    served = len(load["waits"]) + len(probes)
    print(f"server CPU during the load: {cpu:.2f} s for {served} requests, {cpu / served * 1e6:.0f} us per request")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
