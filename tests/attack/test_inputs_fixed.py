"""The fixes of the attack's input findings (7, 9-14), driven through the real CLI where a
user would meet them; the attack's own tests are in test_attack_inputs.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from reconciler.emulator.server import exposure_warning
from tests.integration.conftest import Cli
from tests.support.sdk import ACCOUNT

pytestmark = pytest.mark.slow

M = "version: 1\nbuckets:\n  - name: ${B}\n"


def _validate_with(cli: Cli, var_file: str, **kw: object) -> subprocess.CompletedProcess[str]:
    m = cli.write("m.yaml", M)
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", m, "--var-file", var_file],
                          cwd=cli.cwd, env=cli.env(), capture_output=True, text=True, timeout=60, **kw)


def test_var_file_from_a_pipe_still_works(cli: Cli) -> None:
    """`--var-file <(cmd)` is a pipe at /dev/fd/N: read, as a file would be."""
    read, write = os.pipe()
    os.write(write, b"B=from-a-pipe\n")
    os.close(write)
    try:
        r = _validate_with(cli, f"/dev/fd/{read}", pass_fds=(read,))
    finally:
        os.close(read)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Valid: 1 file, 1 bucket, 0 indexes.\n"


def test_var_file_from_a_fifo_written_to_later_is_read(cli: Cli) -> None:
    fifo = cli.cwd / "vars.fifo"
    os.mkfifo(fifo)

    def writer() -> None:  # blocks until the reader opens it, then writes and closes
        with open(fifo, "w") as f:
            f.write("B=from-a-fifo\n")

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    r = _validate_with(cli, str(fifo))
    t.join(30)
    assert r.returncode == 0, r.stderr


def test_var_file_that_is_a_device_is_refused(cli: Cli) -> None:
    r = _validate_with(cli, "/dev/zero")
    assert r.returncode == 1
    assert r.stderr == "error: --var-file /dev/zero: cannot read file: not a regular file\n"


@pytest.mark.parametrize("target", ["fifo", "/dev/full"])
def test_plan_out_to_a_fifo_or_a_device_is_refused_not_waited_on(cli: Cli, target: str) -> None:
    m = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: atk-out\n")
    path = target
    if target == "fifo":
        path = str(cli.cwd / "plan.fifo")
        os.mkfifo(path)
    r = cli("plan", "-f", m, "--out", path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == f"error: {path}: cannot write plan file: not a regular file"


def test_plan_out_still_writes_over_a_regular_file(cli: Cli) -> None:
    m = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: atk-out\n")
    old = cli.write("p.json", "x" * 100_000)
    assert cli("plan", "-f", m, "--out", old).returncode == 0
    assert json.loads((cli.cwd / "p.json").read_text())["changes"][0]["address"] == "bucket.atk-out"


def test_an_undefined_variable_with_a_huge_name_gives_a_short_line(cli: Cli) -> None:
    m = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: ${" + "V" * 100_000 + "}\n")
    r = cli("validate", "-f", m)
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert "undefined variable 'VVVV" in first and "…(100,000 chars)" in first
    assert len(first) < 500


def test_empty_out_and_empty_principal_are_usage_errors(cli: Cli) -> None:
    m = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: atk-out\n")
    r = cli("plan", "-f", m, "-out=")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == "error: argument --out: expected a value, got an empty one (see reconciler plan --help)\n"
    r = cli("access", "-f", m, "--principal", "")
    assert r.returncode == 1 and r.stdout == ""
    assert "error: argument --principal: expected a value, got an empty one" in r.stderr


def test_a_full_standard_output_is_one_error_line_and_exit_1(cli: Cli) -> None:
    m = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: atk-out\n")
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", m], cwd=cli.cwd, env=cli.env(),
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == "error: cannot write to standard output: No space left on device\n"


def test_a_live_policy_with_control_characters_is_shown_escaped(cli: Cli, sdk: object) -> None:
    """The document diff of a policy set out of band, with ESC and U+202E in its Sid."""
    arn = "trn:tosvectors:cn-beijing:2100000000:bucket/atk-p"
    m = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: atk-p\n    policy:\n      Version: '2025-12-01'\n"
                            "      Statement:\n        - Sid: mine\n          Effect: Allow\n"
                            "          Principal: ['2100000001']\n          Action: ['tosvectors:GetIndex']\n"
                            f"          Resource: ['{arn}']\n")
    assert cli("apply", "-f", m, "--auto-approve").returncode == 0
    hostile = {"Version": "2025-12-01", "Statement": [
        {"Sid": "x\x1b[2J\u202eevil", "Effect": "Allow", "Principal": ["2100000001"],
         "Action": ["tosvectors:GetIndex"], "Resource": [arn]}]}
    sdk.put_vector_bucket_policy(vector_bucket_name="atk-p", account_id=ACCOUNT,  # type: ignore[attr-defined]
                                 policy=json.dumps(hostile))
    for fmt in ("text", "markdown"):
        r = cli("plan", "-f", m, "--format", fmt)
        assert r.returncode == 0, r.stderr
        assert not {c for c in r.stdout if c in "\x1b\u202e"}
        assert "\\u202eevil" in r.stdout


@pytest.mark.parametrize("bound, shown, checked, warned", [
    ("0.0.0.0", "0.0.0.0", False, True),
    ("::", "[::]", False, True),
    ("192.168.1.5", "192.168.1.5", False, True),
    ("0.0.0.0", "0.0.0.0", True, False),
    ("127.0.0.1", "127.0.0.1", False, False),
    ("127.0.0.2", "127.0.0.2", False, False),
    ("::1", "[::1]", False, False),
])
def test_serve_warns_when_reachable_beyond_loopback_without_signature_checks(
        bound: str, shown: str, checked: bool, warned: bool) -> None:
    """(Tests bind to loopback only, so the decision is tested on the bound address that
    `serve` passes it; `serve --host 0.0.0.0` prints it second, after `listening on`.)"""
    line = exposure_warning(bound, shown, checked=checked)
    assert (line is not None) == warned
    if line:
        assert line.startswith(f"warning: listening on {shown} without --access-key: anyone who can reach it")
