"""Helpers for the robustness tests (a unique module name, importable whatever pytest's
import mode): the CLI as a subprocess (run to completion or streamed line by line),
manifest generation, and reading what really exists with the official SDK."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.sdk import ACCOUNT

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 60.0


def policy_block(bucket: str, indent: str = "    ") -> str:
    return (f"{indent}policy:\n"
            f"{indent}  Version: \"2025-12-01\"\n"
            f"{indent}  Statement:\n"
            f"{indent}    - Effect: Allow\n"
            f"{indent}      Principal: [\"{ACCOUNT}/ci-bot\"]\n"
            f"{indent}      Action: [\"tosvectors:QueryVectors\", \"tosvectors:GetVectors\"]\n"
            f"{indent}      Resource: [\"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{bucket}/index/*\"]\n")


def manifest(prefix: str, buckets: int, indexes: int, *, policies: bool = True, prune: str | None = None) -> str:
    """`buckets` buckets named PREFIX-1.. with `indexes` indexes idx-1.. (dimension 4*i) and a policy each."""
    text = "version: 1\n"
    if prune:
        text += f"prune:\n  buckets: [\"{prune}\"]\n"
    text += "buckets:\n"
    for b in range(1, buckets + 1):
        name = f"{prefix}-{b}"
        text += f"  - name: {name}\n" + (policy_block(name) if policies else "") + "    indexes:\n"
        for i in range(1, indexes + 1):
            text += f"      - name: idx-{i}\n        dimension: {4 * i}\n        distanceMetric: cosine\n"
    return text


def expected_state(prefix: str, buckets: int, indexes: int) -> dict[str, dict[str, int]]:
    return {f"{prefix}-{b}": {f"idx-{i}": 4 * i for i in range(1, indexes + 1)} for b in range(1, buckets + 1)}


def base_env(url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    if url:
        env.update({"TOS_ENDPOINT": url, "TOS_ACCOUNT_ID": ACCOUNT})
    env.update(extra or {})
    return env


@dataclass
class Cli:
    """`python -m reconciler ARGS` in `cwd` against the emulator at `url`."""

    url: str
    cwd: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return base_env(self.url, self.extra_env)

    def __call__(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=self.cwd, env=self.env(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    def popen(self, *args: str) -> Streamed:
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=self.cwd, env=self.env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)
        return Streamed(proc)

    def write(self, name: str, text: str) -> str:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)


class Streamed:
    """A running CLI whose stdout is read line by line as it comes (a thread per pipe)."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._pump, args=(proc.stdout, self.stdout_lines, True), daemon=True),
                         threading.Thread(target=self._pump, args=(proc.stderr, self.stderr_lines, False), daemon=True)]
        for t in self._threads:
            t.start()

    def _pump(self, pipe: Any, sink: list[str], notify: bool) -> None:
        for line in pipe:
            sink.append(line)
            if notify:
                self._lines.put(line)
        if notify:
            self._lines.put(None)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """The first stdout line matching `predicate`; AssertionError on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching line within {timeout}s; stdout so far:\n{self.stdout}")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the command ended first; stdout:\n{self.stdout}\nstderr:\n{self.stderr}")
            if predicate(line):
                return line

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the command did not end within {timeout}s; stdout:\n{self.stdout}")
        self._close()
        return code

    def kill(self) -> None:
        """Kill the command if it still runs; close its pipes either way."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        for t in self._threads:
            t.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    @property
    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)


def live_state(sdk: Any, buckets: list[str] | None = None, *, dimensions: bool = True) -> dict[str, dict[str, Any]]:
    """{bucket: {"indexes": {name: dimension}, "policy": text or None}} as the SDK sees it
    (dimension None without `dimensions`, which saves a GetIndex per index)."""
    from tos.exceptions import TosServerError

    names = buckets if buckets is not None else sorted(
        b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            listed = sdk.list_indexes(name, ACCOUNT).indexes
        except TosServerError as e:
            if e.status_code == 404:
                continue
            raise
        indexes = {i.index_name: sdk.get_index(name, ACCOUNT, i.index_name).index.dimension if dimensions else None
                   for i in listed}
        policy = sdk.policy_or_none(name, ACCOUNT)
        out[name] = {"indexes": indexes, "policy": policy}
    return out


def assert_clean_output(result_out: str, result_err: str) -> None:
    text = result_out + result_err
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
