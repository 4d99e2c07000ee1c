"""`reconciler graph`, `plan --detailed-exitcode`, and the progress line on stderr.

Progress is tested twice: the Progress class with fake streams and a fake clock, and
the CLI for real: against a slow emulator (so refresh and apply take over a second)
with stderr a pseudo-terminal it shows progress, with stderr a pipe it prints no
escape code at all.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reconciler.cli import progress as progress_module
from reconciler.cli.progress import Progress
from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.emulator import free_port, running_emulator
from tests.support.recording_proxy import recording_proxy
from tests.support.sdk import sdk_client

MANIFEST = """\
version: 1
buckets:
  - name: gr-app
    indexes:
      - {name: docs, dimension: 4, distanceMetric: cosine}
      - {name: faq, dimension: 3, distanceMetric: euclidean}
    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["2100000000/ci-bot"]
          Action: ["tosvectors:QueryVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/gr-app/index/*"]
"""


emulator, _empty_service = one_emulator_per_module()


# --- graph -------------------------------------------------------------------------------------


def test_graph_mermaid_and_dot_show_the_order(cli: Cli, sdk, emulator) -> None:
    path = cli.write("m.yaml", MANIFEST)
    with recording_proxy(emulator.url) as proxy:
        pcli = Cli(proxy.url, cli.cwd, {})
        r = pcli("graph", "-f", path)
        assert r.returncode == 0, r.stdout + r.stderr
        mermaid = r.stdout
        r = pcli("graph", "-f", path, "--format", "dot")
        assert r.returncode == 0, r.stdout + r.stderr
        dot = r.stdout
        assert proxy.writes() == []  # graph plans; it does not apply (nor probe)
    assert sdk.list_vector_buckets().vector_buckets == []

    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = dict(re.findall(r'^  (\w+)\["([^"]+)"\]', mermaid, re.M))
    assert sorted(nodes.values()) == ["+ bucket.gr-app", "+ index.gr-app/docs", "+ index.gr-app/faq", "+ policy.gr-app"]
    by_label = {label.split(" ", 1)[1]: node for node, label in nodes.items()}
    edges = set(re.findall(r"^  (\w+) --> (\w+)$", mermaid, re.M))
    b, d, f, p = (by_label[a] for a in ("bucket.gr-app", "index.gr-app/docs", "index.gr-app/faq", "policy.gr-app"))
    assert edges == {(b, d), (b, f), (b, p), (d, p), (f, p)}

    assert dot.startswith("digraph plan {") and dot.rstrip().endswith("}")
    dot_edges = set(re.findall(r'^  "([^"]+)" -> "([^"]+)";$', dot, re.M))
    assert dot_edges == {("bucket.gr-app", "index.gr-app/docs"), ("bucket.gr-app", "index.gr-app/faq"),
                         ("bucket.gr-app", "policy.gr-app"), ("index.gr-app/docs", "policy.gr-app"),
                         ("index.gr-app/faq", "policy.gr-app")}
    assert '"index.gr-app/docs" [label="+ index.gr-app/docs"' in dot


# --- plan --detailed-exitcode ------------------------------------------------------------------


def test_plan_detailed_exitcode(cli: Cli) -> None:
    path = cli.write("m.yaml", MANIFEST)
    r = cli("plan", "-f", path, "--detailed-exitcode", "--format", "json")
    assert r.returncode == 2, r.stdout + r.stderr
    assert json.loads(r.stdout)["summary"]["create"] == 4
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli("plan", "-f", path, "--detailed-exitcode")
    assert r.returncode == 0 and "No changes." in r.stdout


def test_plan_detailed_exitcode_error_is_1(tmp_path: Path) -> None:
    # an error is 1, never 2, even though the manifest declares what does not exist
    cli = Cli(f"http://127.0.0.1:{free_port()}", tmp_path, {})  # nothing listens there
    r = cli("plan", "-f", cli.write("m.yaml", MANIFEST), "--detailed-exitcode")
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    r = cli("plan", "-f", cli.write("bad.yaml", MANIFEST.replace("dimension: 4", "dimension: 5000")),
            "--detailed-exitcode")
    assert r.returncode == 1 and r.stdout == "" and "bad.yaml:5:" in r.stderr and "4096" in r.stderr, r.stderr


# --- the Progress class -------------------------------------------------------------------------


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(progress_module.time, "monotonic", fake)
    return fake


CLEAR = "\r\x1b[2K"


def test_progress_is_silent_when_not_a_tty(clock: FakeClock) -> None:
    stream = FakeStream(tty=False)
    bar = Progress("refreshing", stream)
    clock.now += 30
    for n in range(1, 6):
        bar.update(n, 5)
    bar.close()
    assert stream.getvalue() == ""


def test_progress_is_silent_for_work_under_a_second(clock: FakeClock) -> None:
    stream = FakeStream(tty=True)
    bar = Progress("applying", stream)
    for n in range(1, 4):
        clock.now += 0.3
        bar.update(n, 3)
    bar.close()
    assert stream.getvalue() == ""


def test_progress_shows_and_clears_on_a_tty_after_a_second(clock: FakeClock) -> None:
    stream = FakeStream(tty=True)
    bar = Progress("refreshing", stream)
    clock.now += 0.5
    bar.update(1, 10)
    assert stream.getvalue() == ""
    clock.now += 0.6
    bar.update(4, 10)
    bar.update(5, 12)
    assert stream.getvalue() == f"{CLEAR}refreshing: 4/10{CLEAR}refreshing: 5/12"
    bar.close()
    bar.close()  # a second close writes nothing more
    assert stream.getvalue() == f"{CLEAR}refreshing: 4/10{CLEAR}refreshing: 5/12{CLEAR}"
    bar.update(6, 12)  # shown again after a close (apply closes it to print each step line)
    assert stream.getvalue().endswith(f"{CLEAR}{CLEAR}refreshing: 6/12")


def test_progress_enabled_overrides_and_default_stream(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    forced_off, forced_on = FakeStream(tty=True), FakeStream(tty=False)
    off, on = Progress("x", forced_off, enabled=False), Progress("y", forced_on, enabled=True)
    clock.now += 2
    off.update(1, 1)
    on.update(1, 1)
    assert forced_off.getvalue() == "" and forced_on.getvalue() == f"{CLEAR}y: 1/1"
    tty_stderr = FakeStream(tty=True)
    monkeypatch.setattr(sys, "stderr", tty_stderr)
    bar = Progress("z")
    clock.now += 2
    bar.update(2, 3)
    assert tty_stderr.getvalue() == f"{CLEAR}z: 2/3"


# --- progress from the CLI -----------------------------------------------------------------------


def _slow_manifest(prefix: str) -> str:
    """Two missing buckets with an index each: 4 reads and 4 writes, one at a time."""
    return "version: 1\nbuckets:\n" + "".join(
        f"  - name: {prefix}-{n}\n    indexes:\n      - {{name: vecs, dimension: 4, distanceMetric: cosine}}\n"
        for n in ("a", "b"))


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        into.append(chunk)


def test_cli_progress_only_on_a_tty(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "slow-data", "--latency-ms", "350") as emu:
        cli = Cli(emu.url, tmp_path, {"NO_COLOR": ""})  # colour allowed: only the TTY decides
        args = ("apply", "--auto-approve", "--parallelism", "1", "-f")

        # stderr a terminal (started first, runs alongside the pipe case below)
        tty_manifest = cli.write("tty.yaml", _slow_manifest("tty"))
        leader, follower = pty.openpty()
        chunks: list[bytes] = []
        try:
            proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args, tty_manifest], cwd=tmp_path,
                                    env=cli.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
        finally:
            os.close(follower)
        reader = threading.Thread(target=_read_all, args=(leader, chunks), daemon=True)
        reader.start()
        try:
            # stderr a pipe: no progress, no escape code anywhere
            r = cli(*args, cli.write("pipe.yaml", _slow_manifest("pipe")))
            assert r.returncode == 0, r.stdout + r.stderr
            assert "\x1b" not in r.stderr and "\x1b" not in r.stdout and "\r" not in r.stderr
            assert "refreshing" not in r.stderr and "applying" not in r.stderr
            stdout, _ = proc.communicate(timeout=60)
            reader.join(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            os.close(leader)
        assert proc.returncode == 0, stdout
        seen = b"".join(chunks).decode()
        # the progress line appears for refresh and for apply, and is cleared at the end
        assert re.search(r"\r\x1b\[2Krefreshing: \d+/\d+", seen), repr(seen)
        assert re.search(r"\r\x1b\[2Kapplying: \d+/4", seen), repr(seen)
        assert seen.rstrip("\r\n").endswith("\x1b[2K"), repr(seen)
        assert b"\x1b" not in stdout  # stdout is a pipe: plain text
        sdk = sdk_client(emu.url)
        names = sorted(b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)
        sdk.close()
        assert names == ["pipe-a", "pipe-b", "tty-a", "tty-b"]
