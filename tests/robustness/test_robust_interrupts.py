"""Apply interrupted: Ctrl-C (SIGINT) finishes what is in flight and starts nothing new;
the emulator killed mid-apply fails the apply cleanly and in bounded time. Both leave a
state that a rerun converges from."""

from __future__ import annotations

import importlib.abc
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from robust_helpers import Cli, assert_clean_output, expected_state, live_state, manifest

import reconciler.cli
from reconciler.cli.parser import main
from tests.support.emulator import running_emulator, start_emulator, stop_emulator
from tests.support.sdk import sdk_client

STEP = re.compile(r"^(done|failed|unknown|skipped|not started)\s+(\S+)\s+(\S+)")


def step_lines(stdout: str) -> list[tuple[str, str]]:
    """[(status, address)] of an apply's step lines."""
    return [(m.group(1), m.group(3)) for m in map(STEP.match, stdout.splitlines()) if m]


def test_sigint_finishes_in_flight_steps_and_starts_no_new_ones(tmp_path: Path, work: Path) -> None:
    prefix, indexes = "sig", 8
    with running_emulator(tmp_path / "data", "--latency-ms", "300") as emu:
        cli = Cli(emu.url, work)
        path = cli.write("m.yaml", manifest(prefix, 1, indexes))
        started = time.monotonic()
        run = cli.popen("apply", "-f", path, "--auto-approve", "--parallelism", "1")
        try:
            first = run.wait_for_line(lambda ln: STEP.match(ln) is not None, timeout=30)
            run.proc.send_signal(signal.SIGINT)
            signalled = time.monotonic() - started
            code = run.wait(timeout=30)
        finally:
            run.kill()
        out, err = run.stdout, run.stderr
        assert first.startswith("done") and "bucket.sig-1" in first, out
        assert code == 130, out + err
        assert_clean_output(out, err)
        assert "interrupt received: finishing steps in flight, starting no new ones" in err, err

        lines = step_lines(out)
        total = 1 + indexes + 1
        assert sorted(a for _, a in lines) == sorted({a for _, a in lines}) and len(lines) == total, out
        done = [a for s, a in lines if s == "done"]
        assert not any(s == "failed" for s, _ in lines), out
        # At --parallelism 1 one step runs at a time and each holds a request for the emulator's
        # 300 ms, so by the signal at most `signalled / 0.3` steps can have finished, and one
        # more was in flight: a bound a loaded machine only loosens (it used to be "<= 2",
        # which a test process descheduled for 300 ms between seeing a line and signalling
        # would break). An apply that ignored the signal would finish all of them.
        assert 1 <= len(done) <= int(signalled / 0.3) + 1 and len(done) < total, (signalled, out)
        counts = {s: sum(1 for x, _ in lines if x == s) for s in ("done", "failed", "skipped", "not started")}
        verdict = (f"Apply interrupted: {counts['done']} done, 0 failed, {counts['skipped']} skipped, "
                   f"{counts['not started']} not started.")
        assert verdict in out, out
        assert counts["not started"] == total - len(done)  # held back by the interrupt, none "skipped"

        # what exists is exactly what the output says was done: nothing started after the interrupt
        time.sleep(0.4)  # longer than the emulator's latency: a late request would have landed
        sdk = sdk_client(emu.url)
        try:
            live = live_state(sdk, dimensions=False)
        finally:
            sdk.close()
        created = {f"bucket.{b}" for b in live} | {f"index.{b}/{i}" for b, v in live.items() for i in v["indexes"]}
        created |= {f"policy.{b}" for b, v in live.items() if v["policy"]}
        assert created == set(done), (created, out)

        # a second Ctrl-C aborts at once: in-flight requests are abandoned, still no traceback
        other = cli.write("other.yaml", manifest("abt", 1, indexes))
        run = cli.popen("apply", "-f", other, "--auto-approve", "--parallelism", "1")
        try:
            run.wait_for_line(lambda ln: STEP.match(ln) is not None, timeout=30)
            run.proc.send_signal(signal.SIGINT)
            for _ in range(600):  # the second must come after the first was handled (30 s at most)
                if "interrupt received" in run.stderr:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"the first Ctrl-C was not acknowledged within 30 s; stderr:\n{run.stderr}")
            run.proc.send_signal(signal.SIGINT)
            code = run.wait(timeout=30)  # abandoning the step in flight shows in the output below
        finally:
            run.kill()
        assert code == 130, run.stdout + run.stderr
        assert_clean_output(run.stdout, run.stderr)
        # aborted (the usual case), unless the step in flight had already finished under a slow CI;
        # either way the output says what was done and what may or may not have happened
        aborted = re.search(r"^Apply aborted: (\d+) done, 0 failed, 0 skipped, (\d+) in flight, (\d+) not started\.$",
                            run.stdout, re.M)
        if aborted:
            assert int(aborted.group(2)) == 1, run.stdout  # --parallelism 1
            assert "In flight when aborted, so they may or may not have taken effect: " in run.stdout
            assert "Run `reconciler plan` to see where things stand." in run.stdout
            assert sum(map(int, aborted.groups())) == 1 + indexes + 1, run.stdout
        else:
            assert "Apply interrupted:" in run.stdout, run.stdout + run.stderr

        again = cli("apply", "-f", path, "-f", other, "--auto-approve", "--parallelism", "10")
        assert again.returncode == 0 and "Apply complete" in again.stdout, again.stdout + again.stderr
        plan = cli("plan", "-f", path, "-f", other, "--detailed-exitcode")
        assert plan.returncode == 0 and "No changes." in plan.stdout, plan.stdout + plan.stderr


GIVE_UP_WITHIN = 70.0


def test_emulator_killed_mid_apply_fails_cleanly_and_rerun_converges(tmp_path: Path, work: Path, note) -> None:
    prefix, buckets, indexes = "kil", 2, 3
    data = tmp_path / "data"
    emu = start_emulator(data, "--latency-ms", "200")
    try:
        cli = Cli(emu.url, work)
        path = cli.write("m.yaml", manifest(prefix, buckets, indexes))
        run = cli.popen("apply", "-f", path, "--auto-approve", "--parallelism", "3")
        try:
            run.wait_for_line(lambda ln: STEP.match(ln) is not None, timeout=30)
            emu.process.kill()  # SIGKILL: no shutdown, connections in flight are cut
            emu.process.wait(timeout=10)
            killed = time.monotonic()
            code = run.wait(timeout=GIVE_UP_WITHIN + 10)
            took = time.monotonic() - killed
        finally:
            run.kill()
    finally:
        stop_emulator(emu)
    out, err = run.stdout, run.stderr
    note(f"apply gave up {took:.1f}s after the emulator was killed")
    assert code == 1, out + err
    assert took < GIVE_UP_WITHIN, f"apply took {took:.0f}s to give up"
    assert_clean_output(out, err)
    lines = step_lines(out)
    failed = [ln for ln in out.splitlines() if ln.startswith("failed")]
    assert failed, out
    for ln in failed:  # one line each: the action and what went wrong with the connection
        assert re.search(r": (CreateVectorBucket|CreateIndex|PutVectorBucketPolicy): "
                         r"(cannot connect to|connection to .* closed unexpectedly|request to .* failed)", ln), ln
    assert "Apply failed:" in out
    assert len(lines) == buckets * (indexes + 2), out
    done = {a for s, a in lines if s == "done"}

    with running_emulator(data) as emu:  # restarted on the same data
        sdk = sdk_client(emu.url)
        try:
            live = live_state(sdk)
        finally:
            sdk.close()
        present = {f"bucket.{b}" for b in live} | {f"index.{b}/{i}" for b, v in live.items() for i in v["indexes"]}
        present |= {f"policy.{b}" for b, v in live.items() if v["policy"]}
        assert done <= present, "an acknowledged write was lost"  # what the apply reported done survived
        cli.url = emu.url
        again = cli("apply", "-f", path, "--auto-approve")
        assert again.returncode == 0 and "Apply complete" in again.stdout, again.stdout + again.stderr
        plan = cli("plan", "-f", path, "--detailed-exitcode")
        assert plan.returncode == 0 and "No changes." in plan.stdout, plan.stdout + plan.stderr
        sdk = sdk_client(emu.url)
        try:
            assert {b: v["indexes"] for b, v in live_state(sdk).items()} == expected_state(prefix, buckets, indexes)
        finally:
            sdk.close()


class _CtrlCOnImport(importlib.abc.MetaPathFinder):
    """Ctrl-C arriving while the CLI imports its commands (the first ~0.2 s of every run)."""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == "reconciler.cli.commands":
            raise KeyboardInterrupt
        return None


def test_sigint_while_starting_up_exits_130_without_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "reconciler.cli.commands", raising=False)
    monkeypatch.delattr(reconciler.cli, "commands", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_CtrlCOnImport(), *sys.meta_path])
    try:
        code = main(["validate", "-f", "m.yaml"])
    except KeyboardInterrupt:  # caught here, or it would stop the whole test session
        pytest.fail("Ctrl-C during start-up escaped main(): Python prints a traceback")
    assert code == 130
    out, err = capsys.readouterr()
    assert (out, err) == ("", "interrupted\n")
