"""Driving `reconciler watch` as a process: the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.emulator import ACCOUNT, free_port, stop_process

CLI = [sys.executable, "-m", "reconciler"]


def hermetic_env(url: str | None, **extra: str) -> dict[str, str]:
    """No TOS_*, CI or proxy settings of the machine's; the emulator at `url` if given."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOS_", "RECONCILER_")) and k != "CI"
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_COLOR"] = "1"
    if url is not None:
        env.update(TOS_ENDPOINT=url, TOS_ACCOUNT_ID=ACCOUNT)
    env.update(extra)
    return env


def run_cli(cwd: Path, env: dict[str, str], *args: str, watch: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@dataclass
class Watching:
    process: subprocess.Popen[bytes]
    cwd: Path
    events_file: Path
    port: int
    stderr_file: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[dict[str, Any]]:
        if not self.events_file.exists():
            return []
        return [json.loads(line) for line in self.events_file.read_text().splitlines() if line]

    def stderr(self) -> str:
        return self.stderr_file.read_text(errors="replace")

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics", timeout=10).text

    def sample(self, name: str, **labels: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        for family in text_string_to_metric_families(self.metrics()):
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return float(s.value)
        raise KeyError(name)

    def wait_until(self, what: str, condition: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except (httpx.HTTPError, KeyError):
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"watch exited ({self.process.returncode}) while waiting for {what}:\n"
                                     f"{self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s:\n{self.stderr()}")
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)


@contextmanager
def watching(cwd: Path, env: dict[str, str], *args: str) -> Iterator[Watching]:
    """`watch --listen 127.0.0.1:FREE --events CWD/events.jsonl ARGS` until the block ends
    (then SIGTERM, SIGKILL if it is still running 20 s later)."""
    port = free_port()
    events = cwd / "events.jsonl"
    stderr_file = cwd / "watch.stderr"
    with open(stderr_file, "wb") as err:
        process = subprocess.Popen([*CLI, "watch", "--listen", f"127.0.0.1:{port}", "--events", str(events),
                                    *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
    w = Watching(process, cwd, events, port, stderr_file)
    try:
        yield w
    finally:
        stop_process(process, 20)
