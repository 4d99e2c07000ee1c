"""Terraform's CI spellings through the real CLI (README.md, "Commands"): `-no-color`, `-input=false`
and `plan -refresh-only`, and the line every Terraform CI template runs.

Colour and prompts only happen on a terminal, so those tests run the CLI on a pseudo-
terminal (stdin, stdout and stderr all on it), as a person or a pty-allocating CI runner
would, and read back every byte it wrote."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.emulator import running_emulator
from tests.support.sdk import ACCOUNT, wipe

emulator, _empty_service = one_emulator_per_module()

ESC = b"\x1b"
MANIFEST = """version: 1
buckets:
  - name: ci-app
    indexes:
      - name: docs
        dimension: 4
        distanceMetric: cosine
"""
UNRECOGNIZED = "unrecognized arguments"


def bucket_names(sdk) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)


def on_a_terminal(cli: Cli, *args: str, answer: bytes = b"", timeout: float = 60,
                  no_color_env: bool = False) -> tuple[int, bytes]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal, NO_COLOR unset unless
    `no_color_env`; `answer` is typed once the question is on the screen. (exit code, every
    byte shown)."""
    env = cli.env()
    if not no_color_env:
        del env["NO_COLOR"]
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=cli.cwd, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the command has ended and closed its side
                    break
                if not chunk:
                    break
                shown += chunk
                if answer and b"Enter a value:" in shown:
                    os.write(master, answer)
                    answer = b""
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, shown


# --- the line every Terraform CI template runs ------------------------------------------------------


def test_terraform_ci_templates_common_line_plans_saves_and_applies(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    path = cli.write("m.yaml", MANIFEST)
    line = ("plan", "-input=false", "-no-color", "-out=tfplan", "-detailed-exitcode", "-f", path)
    r = cli(*line)
    assert r.returncode == 2, r.stderr  # changes
    assert "Plan: 2 to create" in r.stdout and "\x1b" not in r.stdout + r.stderr
    assert (cli.cwd / "tfplan").is_file()
    assert bucket_names(sdk) == []  # a plan changes nothing
    r = cli("apply", "-input=false", "-no-color", "tfplan")  # a saved plan needs no confirmation
    assert r.returncode == 0, r.stderr
    assert bucket_names(sdk) == ["ci-app"]
    r = cli(*line)
    assert r.returncode == 0, r.stderr
    assert "No changes." in r.stdout


def test_a_bad_input_value_is_one_usage_line(cli: Cli) -> None:
    r = cli("plan", "-input=maybe", "-f", cli.write("m.yaml", MANIFEST))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: argument --input: invalid choice: 'maybe' (choose from 'true', 'false') (see reconciler plan --help)"]


# --- -no-color ---------------------------------------------------------------------------------------


def _every_command(cli: Cli) -> list[tuple[str, ...]]:
    path = cli.write("m.yaml", MANIFEST)
    access = cli.write("access.yaml", MANIFEST + """    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["*"]
          Action: ["tosvectors:QueryVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/ci-app/index/*"]
    allowPublicAccess: true
""")
    return [("plan", "-f", path, "-out=tfplan"), ("show", "tfplan"), ("apply", "-f", path, "-auto-approve"),
            ("drift", "-f", path), ("plan", "-refresh-only", "-f", path), ("output", "-f", path, "-format=text"),
            ("access", "-f", access), ("validate", "-f", path), ("graph", "-f", path), ("export",),
            ("destroy", "-f", path, "-auto-approve"), ("plan", "-f", cli.write("bad.yaml", "version: 1\nbuckets: 3\n"))]


def test_without_no_color_a_terminal_gets_colour(cli: Cli) -> None:
    """The seam works: on this pseudo-terminal the same commands do colour their output."""
    coloured = []
    for args in _every_command(cli):
        _, shown = on_a_terminal(cli, *args)
        coloured.append(ESC in shown)
    assert coloured.count(True) >= 6, coloured  # plan, show, apply, drift, access, destroy at least


def test_no_color_writes_no_escape_byte_on_any_command_even_on_a_terminal(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    for args in _every_command(cli):
        code, shown = on_a_terminal(cli, *args[:1], "-no-color", *args[1:])
        assert ESC not in shown, (args, shown)
        assert UNRECOGNIZED.encode() not in shown, (args, shown)
        assert code in (0, 1, 2), (args, code, shown)
        if args[0] == "apply":
            assert code == 0 and b"Apply complete" in shown, shown
    assert bucket_names(sdk) == []  # destroyed at the end


def test_no_color_at_the_top_level_and_as_NO_COLOR(cli: Cli) -> None:
    path = cli.write("m.yaml", MANIFEST)
    code, shown = on_a_terminal(cli, "--no-color", "plan", "-f", path)
    assert code == 0 and ESC not in shown and b"Plan: 2 to create" in shown
    code, shown = on_a_terminal(cli, "plan", "-f", path, no_color_env=True)
    assert code == 0 and ESC not in shown and b"Plan: 2 to create" in shown
    assert ESC in on_a_terminal(cli, "plan", "-f", path)[1]


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Cli]:
    """An emulator that answers every request after 400 ms: the refresh takes long enough
    (over a second) for the progress line to be drawn on a terminal."""
    with running_emulator(tmp_path / "slow-data", "--latency-ms", "400") as emu:
        work = tmp_path / "slow-work"
        work.mkdir()
        yield Cli(emu.url, work, {})


def test_no_color_draws_the_progress_line_without_escape_sequences(slow: Cli) -> None:
    path = slow.write("m.yaml", MANIFEST.replace("ci-app", "ci-one") + MANIFEST.split("buckets:\n")[1].replace(
        "ci-app", "ci-two"))
    code, shown = on_a_terminal(slow, "plan", "-f", path, "--parallelism", "1")
    assert code == 0 and b"\x1b[2Krefreshing: " in shown  # the seam: a terminal gets the line
    code, shown = on_a_terminal(slow, "plan", "-no-color", "-f", path, "--parallelism", "1")
    assert code == 0, shown
    assert b"\rrefreshing: " in shown and ESC not in shown
    assert b"Plan: 4 to create" in shown


# --- -input=false ------------------------------------------------------------------------------------


def test_input_false_never_prompts_even_on_a_terminal(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    path = cli.write("m.yaml", MANIFEST)
    for spelling in (["-input=false"], ["--input", "false"], ["--input=FALSE"]):
        code, shown = on_a_terminal(cli, "apply", *spelling, "-f", path, answer=b"yes\n", timeout=30)
        text = shown.decode()
        assert code == 1, text
        assert "Enter a value" not in text
        assert "error: apply needs confirmation but -input=false was given; pass --auto-approve. " \
               "Nothing was changed" in text
        assert bucket_names(sdk) == []
    sdk.create_vector_bucket("ci-app")
    code, shown = on_a_terminal(cli, "destroy", "-input=false", "-f", path, answer=b"yes\n", timeout=30)
    assert code == 1 and b"destroy needs confirmation but -input=false was given" in shown
    assert bucket_names(sdk) == ["ci-app"]


def test_input_true_is_the_default_and_asks(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    path = cli.write("m.yaml", MANIFEST)
    code, shown = on_a_terminal(cli, "apply", "-input=true", "-no-color", "-f", path, answer=b"yes\n")
    assert code == 0, shown
    assert b"Do you want to apply these changes?" in shown and b"Apply complete" in shown
    assert bucket_names(sdk) == ["ci-app"]
    wipe(sdk)
    code, shown = on_a_terminal(cli, "apply", "-no-color", "-f", path, answer=b"no\n")
    assert code == 1 and b"apply cancelled; nothing was changed" in shown
    assert bucket_names(sdk) == []


def test_input_false_does_not_stop_what_needs_no_answer(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    path = cli.write("m.yaml", MANIFEST)
    r = cli("apply", "-input=false", "-auto-approve", "-f", path)
    assert r.returncode == 0, r.stderr
    assert bucket_names(sdk) == ["ci-app"]
    for args in (("validate", "-f", path), ("drift", "-f", path), ("output", "-f", path)):
        r = cli(args[0], "-input=false", *args[1:])
        assert r.returncode == 0, (args, r.stderr)


# --- plan -refresh-only ------------------------------------------------------------------------------


def test_refresh_only_is_the_drift_report_with_plans_exit_codes(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    path = cli.write("m.yaml", MANIFEST)
    assert cli("apply", "-f", path, "-auto-approve").returncode == 0
    for extra in ((), ("-detailed-exitcode",)):
        r = cli("plan", "-refresh-only", *extra, "-f", path)
        assert r.returncode == 0, r.stderr
        assert "No drift." in r.stdout
    sdk.delete_index("ci-app", ACCOUNT, "docs")  # changed outside the manifests
    sdk.create_index("ci-app", ACCOUNT, "stray", "float32", 4, "cosine")
    for fmt in ("text", "markdown", "json"):
        drift = cli("drift", "-f", path, f"--format={fmt}")
        assert drift.returncode == 2
        r = cli("plan", "-refresh-only", "-f", path, f"-format={fmt}")
        assert r.returncode == 0, r.stderr  # without -detailed-exitcode, as plan
        assert r.stdout == drift.stdout  # the drift report, as drift renders it
        r = cli("plan", "-refresh-only", "-detailed-exitcode", "-f", path, f"-format={fmt}")
        assert r.returncode == 2 and r.stdout == drift.stdout
    report = json.loads(r.stdout)  # the last one: -format=json
    assert report["in_sync"] is False
    # it reports, never changes: the index is still missing and the stray one still there
    assert sorted(i.index_name for i in sdk.list_indexes("ci-app", ACCOUNT).indexes) == ["stray"]


def test_refresh_only_has_nothing_to_save(cli: Cli) -> None:
    path = cli.write("m.yaml", MANIFEST)
    r = cli("plan", "-refresh-only", "-out=tfplan", "-f", path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "error: plan -refresh-only reports drift and has nothing to save (reconciler keeps no state file to "
        "refresh); save the plan that removes the drift with: reconciler plan --out FILE"]
    assert not (cli.cwd / "tfplan").exists()
    r = cli("plan", "-refresh-only", "-destroy", "-f", path)
    assert r.returncode == 1 and "cannot be used together" in r.stderr


def test_refresh_only_with_target_reports_only_what_it_selects(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    two = MANIFEST + "  - name: ci-other\n"
    path = cli.write("m.yaml", two)
    assert cli("apply", "-f", path, "-auto-approve").returncode == 0
    sdk.delete_index("ci-app", ACCOUNT, "docs")
    r = cli("plan", "-refresh-only", "-detailed-exitcode", "-f", path, "-target=bucket.ci-other")
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli("plan", "-refresh-only", "-detailed-exitcode", "-f", path, "-target=bucket.ci-app")
    assert r.returncode == 2 and "index.ci-app/docs" in r.stdout


# --- -parallelism=N, and the reads' own default ---------------------------------------------------


def test_reads_run_many_at_a_time_unless_parallelism_says_otherwise(slow: Cli) -> None:
    """A refresh only reads and waits on round trips: as typed, `plan` keeps more than the 10
    changes apply runs at once in flight; `-parallelism=N` bounds reads and changes alike."""
    from tests.support.throttling_proxy import throttling_proxy

    indexes = "".join(f"      - {{name: i{n:02d}, dimension: 4, distanceMetric: cosine}}\n" for n in range(30))
    path = slow.write("m.yaml", "version: 1\nbuckets:\n  - name: wide\n    indexes:\n" + indexes)
    r = slow("apply", "-f", path, "-auto-approve", "-parallelism=32")
    assert r.returncode == 0, r.stderr
    with throttling_proxy(slow.url) as proxy:  # no quota: it only records
        through = Cli(proxy.url, slow.cwd, {})
        r = through("plan", "-f", path, "-detailed-exitcode")
        assert r.returncode == 0, r.stderr
        as_typed = max(rec.inflight for rec in proxy.snapshot() if rec.action == "GetIndex") + 1
        proxy.clear()
        r = through("plan", "-f", path, "-detailed-exitcode", "-parallelism=4")
        assert r.returncode == 0, r.stderr
        bounded = max(rec.inflight for rec in proxy.snapshot()) + 1
    assert as_typed > 10, as_typed
    assert bounded <= 4, bounded
