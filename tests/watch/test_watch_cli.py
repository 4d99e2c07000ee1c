"""`reconciler watch` as people run it: the CLI against `reconciler serve` over HTTP, or the embedded emulator. --once exit
codes, the CI rule, plans that `show` and `apply FILE` accept, a clean stop on SIGTERM and
SIGINT, and a watch that outlives an emulator that goes down or answers with faults."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.emulator import ACCOUNT, free_port, running_emulator
from tests.support.sdk import sdk_client
from tests.watch.cli import hermetic_env, run_cli, watching

MANIFEST = """\
version: 1
prune:
  buckets: ["wc-*"]
buckets:
  - name: wc-app
    pruneIndexes: true
    indexes:
      - {name: docs, dimension: 4, distanceMetric: cosine}
"""


@pytest.fixture
def emulator(tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_emulator(tmp_path / "emulator-data") as emu:
        yield emu


@pytest.fixture
def work(tmp_path: Path) -> Path:
    w = tmp_path / "work"
    w.mkdir()
    (w / "m.yaml").write_text(MANIFEST)
    return w


def build(url: str) -> None:
    sdk = sdk_client(url)
    sdk.create_vector_bucket("wc-app")
    sdk.create_index("wc-app", ACCOUNT, "docs", "float32", 4, "cosine")


def test_once_exits_as_drift_does(emulator, work: Path) -> None:  # type: ignore[no-untyped-def]
    env = hermetic_env(emulator.url)
    drift = run_cli(work, env, "watch", "-f", "m.yaml", "--once", "--events", "e.jsonl", watch=True)
    assert drift.returncode == 2, drift.stderr
    assert [json.loads(line)["type"] for line in (work / "e.jsonl").read_text().splitlines()] == ["drift.detected"]
    assert drift.stdout == ""

    build(emulator.url)
    in_sync = run_cli(work, env, "watch", "-f", "m.yaml", "--once", watch=True)
    assert in_sync.returncode == 0, in_sync.stderr
    assert "check: in sync" in in_sync.stderr

    (work / "bad.yaml").write_text("version: 1\nbuckets:\n  - name: wc-x\n    indexes: [{name: a, dimension: 0}]\n")
    bad = run_cli(work, env, "watch", "-f", "bad.yaml", "--once", watch=True)
    assert bad.returncode == 1
    assert "bad.yaml:4:" in bad.stderr and "Traceback" not in bad.stderr

    usage = run_cli(work, env, "watch", "-f", "m.yaml", "--interval", "5x", watch=True)
    assert usage.returncode == 1 and "30s, 5m or 1h" in usage.stderr
    # Terraform's single-dash spellings, as every command
    spelled = run_cli(work, env, "watch", "-f", "m.yaml", "-once", "-interval=30s", watch=True)
    assert spelled.returncode == 0, spelled.stderr


def test_the_ci_rule_holds(work: Path) -> None:
    env = hermetic_env(None, CI="true")
    refused = run_cli(work, env, "watch", "-f", "m.yaml", "--once", watch=True)
    assert refused.returncode == 1
    assert "--endpoint embedded" in refused.stderr and "TOS_ENDPOINT" in refused.stderr
    assert not (work / ".reconciler").exists()  # nothing was created
    chosen = run_cli(work, env, "watch", "-f", "m.yaml", "--once", "--endpoint", "embedded", watch=True)
    assert chosen.returncode == 2, chosen.stderr
    assert "using the embedded emulator" in chosen.stderr


def test_a_saved_plan_is_what_plan_out_writes_and_apply_file_applies_it(emulator, work: Path) -> None:  # type: ignore[no-untyped-def]
    env = hermetic_env(emulator.url, RECONCILER_PLAN_KEY="k" * 32)
    result = run_cli(work, env, "watch", "-f", "m.yaml", "--once", "--plan-dir", "plans", "--events", "e.jsonl",
                     watch=True)
    assert result.returncode == 2, result.stderr
    event = json.loads((work / "e.jsonl").read_text())
    path = Path(event["plan"])
    assert path.parent == work / "plans" and path.is_file()
    assert '"signature": "hmac-sha256:' in path.read_text()

    planned = run_cli(work, env, "plan", "-f", "m.yaml", "--out", "by-plan.json")
    assert planned.returncode == 0
    mine, theirs = json.loads(path.read_text()), json.loads((work / "by-plan.json").read_text())
    del mine["signature"], theirs["signature"]
    assert mine == theirs  # the same file as `plan --out` writes

    shown = run_cli(work, env, "show", str(path))
    assert shown.returncode == 0 and "bucket.wc-app will be created" in shown.stdout
    applied = run_cli(work, env, "apply", str(path))
    assert applied.returncode == 0, applied.stderr
    assert run_cli(work, env, "drift", "-f", "m.yaml").returncode == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_watch_cleanly(emulator, work: Path, signum: int) -> None:  # type: ignore[no-untyped-def]
    build(emulator.url)
    with watching(work, hermetic_env(emulator.url), "-f", "m.yaml", "--interval", "0.5s") as w:
        w.wait_until("two checks", lambda: w.sample("reconciler_checks_total", result="in_sync") >= 2)
        assert w.stop(signum, timeout=15) == 0
        assert "stopped" in w.stderr() and "Traceback" not in w.stderr()
    assert w.events() == []  # in sync all along: nothing to say


def test_a_check_in_flight_finishes_before_the_watch_stops(tmp_path: Path, work: Path) -> None:
    with running_emulator(tmp_path / "data", "--latency-ms", "300") as emu:
        build(emu.url)
        with watching(work, hermetic_env(emu.url), "-f", "m.yaml", "--interval", "1h") as w:
            w.wait_until("the first check to start", lambda: "watching account" in w.stderr(), timeout=30)
            assert "check:" not in w.stderr()  # each call takes 300 ms: the check is in flight
            assert w.stop(timeout=15) == 0
            assert "check: in sync" in w.stderr() and "abandoned" not in w.stderr()
            assert w.stderr().index("SIGTERM received") < w.stderr().index("check: in sync")


def test_the_watch_outlives_an_emulator_that_goes_down(tmp_path: Path, work: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    serve = [sys.executable, "-m", "reconciler", "serve", "--port", str(port), "--data-dir", str(data)]

    def start() -> subprocess.Popen[bytes]:
        p = subprocess.Popen(serve, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sdk_client(url).list_vector_buckets()
                return p
            except Exception:  # noqa: BLE001 (not up yet)
                time.sleep(0.1)
        p.kill()
        raise AssertionError("serve did not start")

    url = f"http://127.0.0.1:{port}"
    emu = start()
    try:
        build(url)
        with watching(work, hermetic_env(url), "-f", "m.yaml", "--interval", "0.5s", "--remediate") as w:
            w.wait_until("a check", lambda: w.sample("reconciler_checks_total", result="in_sync") >= 1)
            emu.terminate()
            emu.wait(timeout=10)
            w.wait_until("check.failed", lambda: any(e["type"] == "check.failed" for e in w.events()), timeout=90)
            failed = next(e for e in w.events() if e["type"] == "check.failed")
            assert "ListVectorBuckets" in failed["error"] or "connect" in failed["error"].lower(), failed
            assert w.sample("reconciler_checks_total", result="error") >= 1
            emu = start()
            before = w.sample("reconciler_checks_total", result="in_sync")
            w.wait_until("a check after the restart",
                         lambda: w.sample("reconciler_checks_total", result="in_sync") > before, timeout=90)
            assert {e["type"] for e in w.events()} == {"check.failed"}  # no false drift, nothing remediated
            assert w.stop() == 0
    finally:
        emu.terminate()
        emu.wait(timeout=10)


def test_a_flaky_service_never_makes_false_drift(tmp_path: Path, work: Path) -> None:
    with running_emulator(tmp_path / "data") as clean:
        build(clean.url)
    with running_emulator(tmp_path / "data", "--fault-rate", "0.3", "--seed", "7") as emu:
        with watching(work, hermetic_env(emu.url), "-f", "m.yaml", "--interval", "0.2s", "--remediate") as w:
            w.wait_until("five checks", lambda: sum(
                w.sample("reconciler_checks_total", result=r) for r in ("in_sync", "drift", "error")) >= 5,
                timeout=150)
            assert w.sample("reconciler_checks_total", result="drift") == 0
            assert {e["type"] for e in w.events()} <= {"check.failed"}
            assert w.stop() == 0
