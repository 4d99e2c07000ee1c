"""Run `reconciler serve` as a subprocess for a test.

    from tests.support.emulator import running_emulator

    with running_emulator(tmp_path / "data") as emu:          # extra flags go after the dir:
        httpx.post(f"{emu.url}/ListVectorBuckets", json={})   # running_emulator(d, "--latency-ms", "5")

The server listens on a free port of 127.0.0.1 and is ready when the block starts. The
block's end stops it (SIGTERM, then SIGKILL after 5 s). `emu.process` is the Popen, for
tests that want to kill it themselves; `emu.stderr_text()` returns what it printed.
Requests pick the account and bucket with the Host header, e.g.
`Host: my-bucket-2100000000.127.0.0.1` (see `bucket_host`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ACCOUNT = "2100000000"  # the emulator's default --account-id
SERVE = [sys.executable, "-m", "reconciler", "serve"]
_REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bucket_host(bucket: str, account: str = ACCOUNT) -> str:
    """The Host header of a bucket-scoped request."""
    return f"{bucket}-{account}.127.0.0.1"


@dataclass
class RunningEmulator:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path
    _stderr: IO[bytes]

    def stderr_text(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
                      b"Connection: close\r\n\r\n{}")
            return s.recv(12).startswith(b"HTTP/1.1 ")
    except OSError:
        return False


def start_emulator(data_dir: str | os.PathLike[str], *extra_args: str, timeout: float = 30.0) -> RunningEmulator:
    """Start a server and wait until it answers; the caller must `stop_emulator` it."""
    port = free_port()
    stderr = tempfile.TemporaryFile()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_REPO), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([*SERVE, "--port", str(port), "--data-dir", str(data_dir), *extra_args],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    emu = RunningEmulator(f"http://127.0.0.1:{port}", port, process, Path(data_dir), stderr)
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_emulator(emu)
            raise RuntimeError(f"reconciler serve did not start (exit {process.returncode}):\n{emu.stderr_text()}")
        time.sleep(0.05)
    return emu


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate a child process, and kill it if it has not stopped within `timeout` s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_emulator(emu: RunningEmulator) -> None:
    """Terminate the server (kill it if it does not stop within 5 s) and release its files."""
    stop_process(emu.process, 5)
    emu._stderr.close()


@contextmanager
def running_emulator(data_dir: str | os.PathLike[str], *extra_args: str) -> Iterator[RunningEmulator]:
    """`reconciler serve --port FREE --data-dir DATA_DIR *extra_args` for the duration of a block."""
    emu = start_emulator(data_dir, *extra_args)
    try:
        yield emu
    finally:
        stop_emulator(emu)
