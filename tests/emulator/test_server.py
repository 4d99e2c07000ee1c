"""`reconciler serve` flags and process, the package's public names, the embedded transport."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reconciler.emulator as emulator
from tests.support.embedded import embedded_transport
from reconciler.emulator.http_limits import Limits
from reconciler.emulator.server import add_serve_arguments, config_from_args, limits_from_args
from reconciler.errors import ConfigError
from tests.support.emulator import RunningEmulator, bucket_host, running_emulator


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def test_public_names() -> None:
    assert sorted(emulator.__all__) == ["EmulatorApp", "EmulatorConfig", "create_app", "embedded_app"]


def test_flag_defaults() -> None:
    args = _parse()
    assert (args.host, args.port, args.data_dir, args.account_id, args.region) == (
        "127.0.0.1", 8765, Path(".reconciler/serve"), "2100000000", "cn-beijing")
    assert (args.access_key, args.secret_key, args.latency_ms, args.fault_rate) == (None, None, 0.0, 0.0)
    assert (args.seed, args.read_timeout, args.max_connections) == (None, 10.0, None)
    config = config_from_args(_parse("--access-key", "AK", "--secret-key", "SK", "--latency-ms", "5",
                                     "--fault-rate", "0.25", "--account-id", "2111111111", "--data-dir", "d",
                                     "--seed", "7"))
    assert (config.access_key, config.secret_key, config.latency_ms, config.fault_rate, config.account_id,
            config.data_dir, config.seed) == ("AK", "SK", 5.0, 0.25, "2111111111", Path("d"), 7)


def test_connection_cap_defaults_and_the_open_files_limit() -> None:
    assert limits_from_args(_parse(), 20000) == Limits(read_timeout=10.0, max_connections=1024, max_lingering=256)
    low = limits_from_args(_parse("--read-timeout", "2.5"), 1024)  # the cap leaves room for the database
    assert low.read_timeout == 2.5 and low.max_connections + low.max_lingering < 1024 - 32
    assert limits_from_args(_parse("--max-connections", "8"), 1024).max_connections == 8
    with pytest.raises(ConfigError, match=r"--max-connections 5000 is more than this process can hold open: "
                                          r"its open-files limit is 1024"):
        limits_from_args(_parse("--max-connections", "5000"), 1024)


@pytest.mark.parametrize("argv", [["--fault-rate", "1.5"], ["--fault-rate", "-0.1"], ["--latency-ms", "-1"],
                                  ["--latency-ms", "soon"], ["--port", "70000"], ["--port", "http"],
                                  ["--seed", "x"], ["--read-timeout", "0"], ["--read-timeout", "inf"],
                                  ["--max-connections", "0"]])
def test_bad_flag_values(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(*argv)
    assert "expected" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [(["--access-key", "AK"], "--access-key needs its secret key: set TOS_SE"),
                                          (["--secret-key", "SK"], "go together"),
                                          (["--account-id", "acct"], "must be digits")])
def test_inconsistent_flags(argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match=message):
        config_from_args(_parse(*argv))


def test_the_secret_key_comes_from_the_environment_only_with_an_access_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_SECRET_KEY", " from-env ")
    monkeypatch.setenv("TOS_ACCESS_KEY", "AK-ENV")
    config = config_from_args(_parse("--access-key", "AK"))
    assert (config.access_key, config.secret_key) == ("AK", "from-env")
    assert config_from_args(_parse("--access-key", "AK", "--secret-key", "flag")).secret_key == "flag"  # the flag wins
    # exported client credentials alone never turn signature checking on
    assert (config_from_args(_parse()).access_key, config_from_args(_parse()).secret_key) == (None, None)


def test_serve_process_port_zero_default_data_dir_and_clean_stop(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-m", "reconciler", "serve", "--port", "0", "--access-key", "AKX",
                                "--secret-key", "super-secret-value"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.match(r"emulator listening on (http://127\.0\.0\.1:(\d+)) \(data: (.+?),", line)
        assert match, line
        assert int(match.group(2)) > 0 and match.group(3) == str(Path(".reconciler/serve"))
        warning = process.stderr.readline()
        r = httpx.post(f"{match.group(1)}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"})
        assert r.status_code == 403 and r.json()["Code"] == "AccessDeniedException"
        assert (tmp_path / ".reconciler" / "serve" / "emulator.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 130  # Ctrl-C: uvicorn shuts down, then the CLI reports the interrupt
    assert "super-secret-value" not in line + warning + out + err and "Traceback" not in err
    assert warning == "warning: --secret-key can be read from the process list by other local users; " \
                      "set TOS_SECRET_KEY instead\n"


def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = subprocess.run([sys.executable, "-m", "reconciler", "serve", "--port", str(busy.getsockname()[1]),
                            "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "cannot listen on 127.0.0.1" in r.stderr and "Traceback" not in r.stderr


def _env_without_tos() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}


def test_a_data_dir_holding_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "emulator.db").write_text("garbage")
    r = subprocess.run([sys.executable, "-m", "reconciler", "serve", "--port", "0", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f"error: cannot open the emulator database in {tmp_path}: file is not a database"], r.stderr

    # the same for the CLI's embedded emulator: before, every call was a 500 with a traceback, retried
    store = tmp_path / "work" / ".reconciler" / "local" / "cn-beijing"
    store.mkdir(parents=True)
    (store / "emulator.db").write_text("garbage")
    (tmp_path / "work" / "m.yaml").write_text("version: 1\nbuckets:\n  - name: app\n")
    r = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", "m.yaml", "--endpoint", "embedded"],
                       cwd=tmp_path / "work",
                       env=_env_without_tos(), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: cannot open the emulator database in {store}: file is not a database"), r.stderr


def test_embedded_transport_persists_in_its_data_dir(tmp_path: Path) -> None:
    async def session(data_dir: Path, body: dict[str, Any], action: str) -> httpx.Response:
        transport = embedded_transport(data_dir, account_id="2100000007", region="cn-guangzhou")
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(f"/{action}", json=body, headers={"host": "127.0.0.1"})

    assert asyncio.run(session(tmp_path, {"vectorBucketName": "kept"}, "CreateVectorBucket")).status_code == 200
    assert (tmp_path / "emulator.db").exists()
    listed = asyncio.run(session(tmp_path, {}, "ListVectorBuckets")).json()["vectorBuckets"]
    assert [(b["vectorBucketName"], b["vectorBucketTrn"]) for b in listed] == [
        ("kept", "trn:tosvectors:cn-guangzhou:2100000007:bucket/kept")]


# --- the HTTP guard over real sockets (reconciler/emulator/http_limits.py) ----------------------

LIST = b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
WAIT = 30.0  # the longest any socket operation here waits: generous, so that load cannot fail a test


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One server with a short read timeout, for the tests that do not fill its connection cap."""
    with running_emulator(tmp_path_factory.mktemp("guarded"), "--read-timeout", "0.5") as emu:
        yield emu


def _connect(emu: RunningEmulator) -> socket.socket:
    return socket.create_connection(("127.0.0.1", emu.port), timeout=WAIT)


def _read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset after its answer counts as the end)."""
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk


def _read_one(sock: socket.socket) -> bytes:
    """One whole answer on a kept-alive connection (its head and body may come apart)."""
    raw = b""
    while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(_answer(raw)[1]["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {raw!r}"
        raw += chunk
    return raw


def _answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of the first HTTP answer in `raw`."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ", 2)[1]), headers, rest[:int(headers.get("content-length", "0"))]


def _service_error(raw: bytes, status: int, code: str) -> dict[str, Any]:
    """The JSON error of an answer, checked to be in the service's shape with its request id."""
    got, headers, body = _answer(raw)
    assert got == status, raw[:500]
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    error = json.loads(body)
    assert sorted(error) == ["Code", "EC", "HostId", "Message", "RequestId"] and error["Code"] == code
    assert error["RequestId"] and error["RequestId"] == headers["x-tos-request-id"] and headers["x-tos-id-2"]
    assert error["EC"] == headers["x-tos-ec"]
    return error


def _request(emu: RunningEmulator, raw: bytes) -> bytes:
    with _connect(emu) as sock:
        sock.sendall(raw)
        return _read_to_end(sock)


def test_half_open_connections_are_closed_after_the_read_timeout(guarded: RunningEmulator) -> None:
    with _connect(guarded) as silent:  # connects and never sends a byte: closed, nothing to answer
        assert _read_to_end(silent) == b""

    with _connect(guarded) as slow:  # slowloris: a header a byte at a time never completes the head
        slow.sendall(LIST + b"X-Slow: ")
        trickled = 0
        while trickled < 150 and not select.select([slow], [], [], 0.2)[0]:
            slow.sendall(b"a")
            trickled += 1
        assert trickled < 150, "the bytes kept the connection open"  # 30 s of trickle against a 0.5 s limit
        error = _service_error(_read_to_end(slow), 408, "RequestTimeout")
    assert error["Message"] == "the request's head did not arrive within 0.5 s"

    with _connect(guarded) as stalled:  # the head arrives, the body stops half-way
        stalled.sendall(b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{}")
        error = _service_error(_read_to_end(stalled), 408, "RequestTimeout")
    assert error["Message"] == "the request's body did not arrive within 0.5 s of the request's start"

    # a kept-alive connection idle between requests is not cut by the read timeout (uvicorn's
    # keep-alive timeout, 5 s, is what ends those)
    with _connect(guarded) as kept:
        kept.sendall(LIST + b"\r\n{}")
        assert _answer(_read_one(kept))[0] == 200
        time.sleep(1.0)
        kept.sendall(LIST + b"Connection: close\r\n\r\n{}")
        assert _answer(_read_to_end(kept))[0] == 200


def _peak_memory(emu: RunningEmulator) -> int:
    """The server's peak resident memory so far, in bytes (VmHWM)."""
    status = Path(f"/proc/{emu.process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def test_an_oversized_head_gets_431_and_the_memory_stays_bounded(guarded: RunningEmulator) -> None:
    before = _peak_memory(guarded)
    with _connect(guarded) as sock:  # a header that never ends: the server must answer, not keep it
        sock.sendall(LIST + b"X-Bomb: ")
        sent = 0
        while sent < 64 << 20 and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"a" * (64 << 10))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 64 << 10
        error = _service_error(_read_to_end(sock), 431, "RequestHeaderSectionTooLarge")
    assert error["Message"] == "the request's head (request line and headers) is larger than 64 KiB"
    assert sent < 8 << 20, f"the server let {sent >> 20} MiB of one header in"
    assert _peak_memory(guarded) - before < 16 << 20

    # a large head under the cap, and a large body (which is no part of the head), are served
    big_header = b"X-Big: " + b"b" * (32 << 10) + b"\r\n"
    assert _answer(_request(guarded, LIST + big_header + b"Connection: close\r\n\r\n{}"))[0] == 200
    body = json.dumps({"prefix": "p" * (2 << 20)}).encode()
    raw = _request(guarded, b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert "prefix" in _service_error(raw, 400, "ValidationException")["Message"]  # the app's own answer


@pytest.mark.parametrize("raw", [
    b"GARBAGE / HTTP/1.1\r\n\r\n",
    b"POST /ListVectorBuckets HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
    b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
    b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
], ids=["method", "header-without-colon", "content-length", "length-and-chunked", "chunk-size", "connect"])
def test_broken_framing_gets_a_json_error_with_a_request_id(guarded: RunningEmulator, raw: bytes) -> None:
    error = _service_error(_request(guarded, raw), 400, "ValidationException")
    assert error["Message"].startswith("malformed HTTP request: ") and "Traceback" not in error["Message"]


def test_broken_framing_after_a_good_request_on_the_same_connection(guarded: RunningEmulator) -> None:
    with _connect(guarded) as sock:
        sock.sendall(LIST + b"\r\n{}")
        assert _answer(_read_one(sock))[0] == 200
        sock.sendall(b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n")
        _service_error(_read_to_end(sock), 400, "ValidationException")
    assert "Invalid HTTP request received." not in guarded.stderr_text()  # uvicorn's plain-text path


def _statuses(raw: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]


@pytest.mark.parametrize("tail,status", [
    (b"GARBAGE\r\n\r\n", 400),  # a broken head behind two whole requests
    (b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 12", 408),  # a head that never completes
    (b"POST /ListVectorBuckets HTTP/1.1\r\nX-Bomb: " + b"a" * (200 << 10), 431),
], ids=["head", "chunked-body", "timeout", "too-large"])
def test_pipelined_requests_are_answered_in_order_before_the_error(guarded: RunningEmulator, tail: bytes,
                                                                   status: int) -> None:
    raw = _request(guarded, LIST + b"\r\n{}" + LIST + b"\r\n{}" + tail)
    assert _statuses(raw) == [200, 200, status], raw[-300:]
    error = json.loads(raw[raw.rindex(b"\r\n\r\n") + 4:])
    assert error["RequestId"] and error["EC"] == f"9999-00000{status}"


def test_above_the_connection_cap_a_new_client_gets_a_json_503_and_idle_ones_make_room(tmp_path: Path) -> None:
    with running_emulator(tmp_path, "--max-connections", "4", "--read-timeout", "600") as emu:  # only room closes
        busy = [_connect(emu) for _ in range(4)]  # requests under way (heads not complete yet)
        for sock in busy:
            sock.sendall(b"POST /ListVectorBuckets HTTP/1.1\r\n")
        r = httpx.post(f"{emu.url}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"}, timeout=WAIT)
        assert (r.status_code, r.headers["retry-after"], r.json()["Code"]) == (503, "1", "ServiceUnavailableException")
        assert r.json()["RequestId"] == r.headers["x-tos-request-id"]
        assert "its limit (reconciler serve --max-connections)" in r.json()["Message"]
        for sock in busy:
            sock.close()

        deadline = time.monotonic() + WAIT  # the server sees the closes in its own time
        while httpx.post(f"{emu.url}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"},
                         timeout=WAIT).status_code != 200:
            assert time.monotonic() < deadline, "the closed connections never made room"
            time.sleep(0.05)

        # connections that sent nothing (or sit idle between requests) make room for a new client:
        # the one idle the longest is closed
        silent = [_connect(emu) for _ in range(4)]
        try:
            r = httpx.post(f"{emu.url}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"}, timeout=WAIT)
            assert r.status_code == 200, r.text
            assert _read_to_end(silent[0]) == b""
        finally:
            for sock in silent:
                sock.close()
        assert "connection limit reached (4 open): new connections are answered 503" in emu.stderr_text()


def test_a_new_connection_is_served_while_256_keep_alive_clients_are_busy(tmp_path: Path) -> None:
    async def scenario(port: int) -> int:
        stop = asyncio.Event()
        served = [0] * 256

        async def client(n: int) -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                for _ in range(2000):  # bounded even if `stop` never came
                    if stop.is_set():
                        return
                    writer.write(LIST + b"\r\n{}")
                    head = await reader.readuntil(b"\r\n\r\n")
                    await reader.readexactly(int(re.search(rb"content-length: (\d+)", head).group(1)))  # type: ignore[union-attr]
                    served[n] += 1
            finally:
                writer.close()

        clients = [asyncio.ensure_future(client(n)) for n in range(256)]
        try:
            async with asyncio.timeout(120):
                while min(served) == 0:  # every client connected and served at least once: all busy
                    await asyncio.sleep(0.05)
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(LIST + b"Connection: close\r\n\r\n{}")
                answer = await asyncio.wait_for(reader.read(), WAIT)
                writer.close()
                assert not any(c.done() for c in clients), "the load stopped before the new connection was served"
                return _answer(answer)[0]
        finally:
            stop.set()
            await asyncio.gather(*clients, return_exceptions=True)

    with running_emulator(tmp_path) as emu:
        assert asyncio.run(scenario(emu.port)) == 200


def test_the_secret_from_the_environment_is_in_no_process_command_line(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tos.exceptions import TosServerError

    from tests.support.sdk import sdk_client

    secret = "env-only-secret-" + os.urandom(8).hex()
    monkeypatch.setenv("TOS_SECRET_KEY", secret)
    with running_emulator(tmp_path, "--access-key", "AKLTenvtest") as emu:
        seen = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                seen.append(cmdline.read_bytes())
            except OSError:  # the process ended meanwhile
                continue
        assert any(b"AKLTenvtest" in c for c in seen)  # the scan does see the server's command line
        assert not any(secret.encode() in c for c in seen)
        assert sdk_client(emu.url, "AKLTenvtest", secret).list_vector_buckets().vector_buckets == []
        with pytest.raises(TosServerError) as refused:  # signatures really are checked, with that secret
            sdk_client(emu.url, "AKLTenvtest", "another-secret").list_vector_buckets()
        assert refused.value.status_code == 403
        log = emu.stderr_text()
    assert "signatures checked" in log and secret not in log and "warning" not in log


def test_a_flood_of_connections_does_not_lock_real_clients_out(tmp_path: Path) -> None:
    def list_buckets(url: str) -> httpx.Response:
        return httpx.post(f"{url}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"}, timeout=WAIT)

    with running_emulator(tmp_path, "--max-connections", "50", "--read-timeout", "600") as emu:
        silent = [_connect(emu) for _ in range(300)]  # six times the cap, none sending a byte
        try:
            assert list_buckets(emu.url).status_code == 200
            closed = 0
            for sock in silent:  # the server closed the oldest to make room for the newer ones
                sock.settimeout(0.0 if closed >= 250 else WAIT)
                try:
                    closed += sock.recv(1) == b""
                except BlockingIOError:
                    pass
            assert closed >= 250
        finally:
            for sock in silent:
                sock.close()

        deadline = time.monotonic() + WAIT
        while list_buckets(emu.url).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        slow = [_connect(emu) for _ in range(100)]  # slowloris: requests begun, never finished
        try:
            for sock in slow:
                sock.sendall(b"POST /ListVectorBuckets HTTP/1.1\r\n")
            r = list_buckets(emu.url)  # no room: a clean answer, not a reset or a hang
            assert (r.status_code, r.json()["Code"]) == (503, "ServiceUnavailableException")
        finally:
            for sock in slow:
                sock.close()


def test_seed_makes_the_injected_faults_repeat(tmp_path: Path) -> None:
    def statuses(data_dir: Path, seed: str) -> list[int]:
        with running_emulator(data_dir, "--fault-rate", "0.5", "--seed", seed) as emu, \
                httpx.Client(base_url=emu.url, headers={"host": "127.0.0.1"}, timeout=WAIT) as client:
            return [client.post("/ListVectorBuckets", json={}).status_code for _ in range(40)]

    first = statuses(tmp_path / "a", "7")
    assert statuses(tmp_path / "b", "7") == first
    assert statuses(tmp_path / "c", "8") != first
    assert 200 in first and set(first) - {200} <= {429, 500, 503} and len(set(first)) > 1


def test_serve_says_how_to_point_the_cli_at_it_and_never_the_secret() -> None:
    from reconciler.emulator.app import EmulatorConfig
    from reconciler.emulator.server import connection_hint

    plain = connection_hint("http://127.0.0.1:8765", EmulatorConfig(data_dir=":memory:"))
    assert plain.splitlines()[1] == (
        "  export TOS_ENDPOINT=http://127.0.0.1:8765 TOS_ACCOUNT_ID=2100000000 TOS_REGION=cn-beijing")
    signed = connection_hint("http://127.0.0.1:8765", EmulatorConfig(
        data_dir=":memory:", access_key="AKTEST", secret_key="sk-very-secret-value"))
    assert "TOS_ACCESS_KEY=... TOS_SECRET_KEY=..." in signed
    assert "sk-very-secret-value" not in signed and "AKTEST" not in signed


def test_a_client_that_stops_reading_its_answer_is_cut_off(guarded: RunningEmulator) -> None:
    """A client that asks for a 6 MB answer and never reads it must not hold its connection,
    its app task and the buffered answer forever: after the read timeout (0.5 s here) of
    a full write buffer, the server drops it, and it goes on serving everyone else."""
    def post(action: str, body: dict[str, Any], host: str) -> httpx.Response:
        r = httpx.post(f"{guarded.url}/{action}", json=body, headers={"host": host}, timeout=WAIT)
        assert r.status_code == 200, r.text
        return r

    post("CreateVectorBucket", {"vectorBucketName": "stall"}, "127.0.0.1")
    host = bucket_host("stall")
    ref = {"vectorBucketName": "stall", "indexName": "idx"}
    post("CreateIndex", {**ref, "dataType": "float32", "dimension": 4096, "distanceMetric": "euclidean"}, host)
    rng = random.Random(7)  # tiny negative float32 values: about 15 bytes of JSON each
    keys = [f"k{i:03d}" for i in range(100)]
    for part in (keys[:50], keys[50:]):
        post("PutVectors", {**ref, "vectors": [{"key": k, "data": {"float32": [-rng.random() * 1e-5 for _ in range(4096)]}}
                                               for k in part]}, host)
    request = json.dumps({**ref, "keys": keys, "returnData": True}).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window stays small
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", guarded.port))
    with sock:
        sock.sendall(b"POST /GetVectors HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(request)).encode() + b"\r\n\r\n" + request)
        time.sleep(3.0)  # not reading: the server's buffer fills and stays full
        got = _read_to_end(sock)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    length = int(_answer(got)[1]["content-length"])
    assert length > 5_500_000 and len(body) < length, (length, len(body))  # cut off, not delivered
    assert post("ListVectorBuckets", {}, "127.0.0.1").json()["vectorBuckets"]


def test_slow_bodies_cannot_hold_the_connections(tmp_path: Path) -> None:
    """Issue 17: 70 bodies sent a byte every 8 s kept a `--max-connections 64` server full, and
    every real client got 503, for as long as they trickled: the body's clock restarted with
    each byte. The read timeout now bounds the whole request from its first byte, so the
    trickling connections are answered 408 and real clients get in while the trickle goes on."""
    import threading

    def list_buckets(url: str) -> int:
        try:
            return httpx.post(f"{url}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"}, timeout=5).status_code
        except httpx.HTTPError:
            return 0

    with running_emulator(tmp_path, "--max-connections", "64", "--read-timeout", "2") as emu:
        slow = [_connect(emu) for _ in range(70)]
        stop = threading.Event()

        def trickle() -> None:  # a byte per connection every 0.5 s, until the test ends (at most 60 s)
            deadline = time.monotonic() + 60
            while not stop.wait(0.5) and time.monotonic() < deadline:
                for sock in slow:
                    try:
                        sock.send(b" ")
                    except OSError:
                        pass

        try:
            for sock in slow:
                sock.sendall(b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{")
                time.sleep(0.01)  # a request under way is not idle: the server keeps 64 and refuses 6
            trickler = threading.Thread(target=trickle, daemon=True)
            trickler.start()
            statuses = []
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:  # bounded: the old server answered 503 for all of it
                statuses.append(list_buckets(emu.url))
                if statuses[-1] == 200:
                    break
                time.sleep(0.2)
            assert statuses[-1] == 200, f"no request got in while the bodies trickled: {statuses[-10:]}"
            assert all(list_buckets(emu.url) == 200 for _ in range(5))  # and they keep getting in
            assert trickler.is_alive()  # the trickle never stopped: the server ended it
            stop.set()
            raws = [_read_to_end(sock) for sock in slow]
        finally:
            stop.set()
            for sock in slow:
                sock.close()
    answers = [_answer(raw)[0] if raw else 0 for raw in raws]
    # the 6 beyond the cap were refused with a 503 at once (lost to a reset as they kept sending)
    assert answers.count(408) >= 60 and set(answers) <= {0, 408, 503}, answers
    error = _service_error(raws[answers.index(408)], 408, "RequestTimeout")
    assert error["Message"] == "the request's body did not arrive within 2 s of the request's start"


def test_users_come_from_a_file_and_the_environment_too(tmp_path: Path) -> None:
    from reconciler.emulator.server import user_entries

    users = tmp_path / "users"
    users.write_text("# CI identities\n\nAKCI:ci:secret#1:2100000001/ci-bot\n  AKRO:ro-secret:2100000001  \n")
    entries = user_entries(["AKX:x-secret:2100000002", f"@{users}"],
                           {"RECONCILER_SERVE_USERS": "AKE1:e1:2100000003,AKE2:e2:2100000004\n\nAKE3:e3:2100000005"})
    assert entries == [("--user #1", "AKX:x-secret:2100000002"),
                       (f"--user @{users} line 3", "AKCI:ci:secret#1:2100000001/ci-bot"),
                       (f"--user @{users} line 4", "AKRO:ro-secret:2100000001"),
                       ("RECONCILER_SERVE_USERS entry 1", "AKE1:e1:2100000003"),
                       ("RECONCILER_SERVE_USERS entry 2", "AKE2:e2:2100000004"),
                       ("RECONCILER_SERVE_USERS entry 4", "AKE3:e3:2100000005")]
    owner = ["--access-key", "AKOWNER", "--secret-key", "owner-secret"]
    config = config_from_args(_parse(*owner, "--user", f"@{users}"))
    assert [(u.access_key, u.secret_key, u.principal) for u in config.users] == [
        ("AKCI", "ci:secret#1", "2100000001/ci-bot"), ("AKRO", "ro-secret", "2100000001")]


@pytest.mark.parametrize("content,env,fragment", [
    ("AKCI:s3cr3t-value:ci-bot\n", "", "--user @{file} line 1: the principal must be ACCOUNT"),
    ("# ok\nAKCI:s3cr3t-value\n", "", "--user @{file} line 2: expected AK:SK:PRINCIPAL"),
    ("AKCI:s3cr3t-value:2100000001\n", "AKCI:s3cr3t-value:2100000002",
     "RECONCILER_SERVE_USERS entry 1: access key 'AKCI' is already used by another --user"),
    (None, "", "--user @{file}: cannot read it: No such file or directory"),
    (b"\xff\xfe AK", "", "--user @{file}: not UTF-8 text"),
])
def test_bad_users_files_and_entries_are_one_line_without_the_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | bytes | None, env: str, fragment: str) -> None:
    file = tmp_path / "users"
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif content is not None:
        file.write_text(content)
    monkeypatch.setenv("RECONCILER_SERVE_USERS", env)
    with pytest.raises(ConfigError) as info:
        config_from_args(_parse("--access-key", "AKOWNER", "--secret-key", "o", "--user", f"@{file}"))
    assert fragment.format(file=file) in str(info.value) and "s3cr3t-value" not in str(info.value)
    assert "\n" not in str(info.value)


def test_environment_users_need_the_owners_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_SERVE_USERS", "AKCI:s3cr3t-value:2100000001")
    with pytest.raises(ConfigError, match="RECONCILER_SERVE_USERS needs --access-key"):
        config_from_args(_parse())


def test_serve_keeps_file_and_environment_secrets_out_of_the_process_list(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--user AK:SK:P` put the secret in `ps` with no warning; `--user @FILE` and
    RECONCILER_SERVE_USERS keep it out, and a secret given as a flag is warned about."""
    from tos.exceptions import TosServerError

    from tests.support.sdk import sdk_client

    file_secret, env_secret, flag_secret = (f"{kind}-secret-{os.urandom(6).hex()}" for kind in ("file", "env", "flag"))
    users = tmp_path / "users"
    users.write_text(f"# the CI bot\nAKFILE:{file_secret}:2100000001/ci-bot\n")
    users.chmod(0o644)
    monkeypatch.setenv("TOS_SECRET_KEY", "owner-secret")
    monkeypatch.setenv("RECONCILER_SERVE_USERS", f"AKENV:{env_secret}:2100000001/env-bot")
    with running_emulator(tmp_path / "data", "--access-key", "AKOWNER", "--user", f"@{users}",
                          "--user", f"AKFLAG:{flag_secret}:2100000001/flag-bot") as emu:
        cmdlines = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                cmdlines.append(cmdline.read_bytes())
            except OSError:
                continue
        assert any(b"AKFLAG" in c for c in cmdlines)  # the scan sees the server
        assert not any(file_secret.encode() in c or env_secret.encode() in c for c in cmdlines)
        for ak, sk, principal in (("AKFILE", file_secret, "2100000001/ci-bot"),
                                  ("AKENV", env_secret, "2100000001/env-bot")):
            with pytest.raises(TosServerError) as denied:  # a known user, held to (no) policy
                sdk_client(emu.url, ak, sk, max_retry_count=0).list_vector_buckets()
            assert denied.value.status_code == 403 and principal in denied.value.message
        log = emu.stderr_text()
    assert "3 policy-checked users" in log
    assert ("warning: --user AK:SK:PRINCIPAL can be read from the process list by other local users; use --user "
            "@FILE or RECONCILER_SERVE_USERS instead") in log
    assert f"warning: --user @{users} is readable by other users (mode 644); chmod 600 it" in log
    assert all(secret not in log for secret in (file_secret, env_secret, flag_secret, "owner-secret"))


def test_serve_prints_an_sdk_configuration_for_any_bind_address() -> None:
    from reconciler.emulator.app import EmulatorConfig
    from reconciler.emulator.server import connection_hint

    config = EmulatorConfig(data_dir=":memory:", region="cn-shanghai", account_id="2100000042")
    for url, proxy in (("http://127.0.0.1:9000", "127.0.0.1"), ("http://0.0.0.0:9000", "127.0.0.1"),
                       ("http://[::]:9000", "[::1]"), ("http://[::1]:9000", "[::1]")):
        hint = connection_hint(url, config)
        assert (f'VectorClient(AK, SK, "http://tosvectors-cn-shanghai.volces.com", "cn-shanghai", '
                f'proxy_host="{proxy}", proxy_port=9000)') in hint, hint
        assert f'tos.NewProxy("http://{proxy}", 9000)' in hint and "account ID 2100000042" in hint
        assert "any non-empty strings (signatures are not checked)" in hint
