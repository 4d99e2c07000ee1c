"""Hostile inputs found by attacking today's main (see the attack report): each test
drives the real CLI and fails on the code it was written against."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.slow

M = ("version: 1\nbuckets:\n  - name: atk-b\n    indexes:\n      - name: docs-v1\n        dimension: 4\n"
     "        distanceMetric: cosine\n")


def test_show_of_a_forged_plan_writes_no_terminal_control_characters(cli: Cli) -> None:
    """A plan file passes through other hands; `show` (and `apply FILE`, which prints the
    plan first) must not let its text fields drive the reviewer's terminal: clear the
    screen, set the clipboard (OSC 52), or overwrite a line with a carriage return."""
    m = cli.write("m.yaml", M)
    assert cli("plan", "-f", m, "--out", "p.json").returncode == 0
    plan = json.loads((cli.cwd / "p.json").read_text())
    plan["changes"][0]["reason"] = "declared\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\rall good \u202e"
    (cli.cwd / "p.json").write_text(json.dumps(plan, indent=2))
    for fmt in ("text", "markdown"):
        r = cli("show", "p.json", "--format", fmt)
        assert r.returncode == 0, r.stderr
        bad = sorted({c for c in r.stdout if c in "\x1b\x07\r\u202e"})
        assert not bad, f"show --format {fmt} wrote {bad!r} from the file"


def test_var_file_that_is_a_fifo_is_refused_not_waited_on(cli: Cli) -> None:
    """Manifests and plan files refuse FIFOs and devices ("not a regular file"), but
    --var-file opens its path directly, so a FIFO nobody writes to blocks for ever.
    (`--var-file <(cmd)` is a pipe too and works today: a fix may keep it, e.g. by opening
    without blocking; what must not happen is the wait.)"""
    m = cli.write("m.yaml", M)
    fifo = cli.cwd / "vars.fifo"
    os.mkfifo(fifo)
    try:
        r = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", m, "--var-file", str(fifo)],
                           cwd=cli.cwd, env=cli.env(), capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("validate --var-file FIFO hung")
    assert "Traceback" not in r.stderr
    assert r.returncode == 0 or "vars.fifo" in r.stderr


def test_error_line_for_a_huge_value_is_bounded(cli: Cli) -> None:
    """A 1 MB bucket name gives a 1 MB error line: "one clear line" should cut what it echoes."""
    m = cli.write("m.yaml", 'version: 1\nbuckets:\n  - name: "' + "a" * 1_000_000 + '"\n')
    r = cli("validate", "-f", m)
    assert r.returncode == 1
    assert max(len(line) for line in r.stderr.splitlines()) < 2000


@pytest.mark.parametrize("spelling", ["Embedded", "EMBEDDED"])
def test_endpoint_embedded_in_another_case_is_the_embedded_emulator(cli: Cli, spelling: str) -> None:
    """target.resolve compares `embedded` case-insensitively to choose the emulator, but
    rejects any other case first as "no scheme"."""
    m = cli.write("m.yaml", M)
    r = cli("validate", "-f", m)
    assert r.returncode == 0
    env = {**cli.env(), "CI": "true"}
    env.pop("TOS_ENDPOINT")
    r2 = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", m, "--endpoint", spelling],
                        cwd=cli.cwd, env=env, capture_output=True, text=True, timeout=60)
    assert r2.returncode == 0, r2.stderr
