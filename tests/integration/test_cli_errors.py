"""Bad input at the command line: one clear line per problem, exit 1, no traceback,
no API call (the endpoint is a closed port: any call would fail differently)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    base.update({"TOS_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "TOS_ACCOUNT_ID": "2100000000", "NO_COLOR": "1"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=tmp_path, env=base,
                          capture_output=True, text=True, timeout=60)


BROKEN = """\
version: 1
buckets:
  - name: Bad_Name
    indexes:
      - name: docs
        dimension: 5000
        distanceMetric: dot
"""


@pytest.mark.parametrize("verb", ["validate", "plan", "apply", "destroy", "drift", "graph"])
def test_invalid_manifest_is_reported_with_locations_and_no_call(tmp_path: Path, verb: str) -> None:
    (tmp_path / "m.yaml").write_text(BROKEN)
    r = run(tmp_path, verb, "-f", "m.yaml")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("m.yaml:")]
    assert any(line.startswith("m.yaml:3:") and "Bad_Name" in line for line in lines), r.stderr
    assert any(line.startswith("m.yaml:6:") and "4096" in line for line in lines), r.stderr
    assert any(line.startswith("m.yaml:7:") and "dot" in line for line in lines), r.stderr
    assert ("nothing was changed" in r.stderr) == (verb != "validate")  # validate changes nothing anyway
    assert "Connect" not in r.stderr and "connection" not in r.stderr.lower()


def test_undefined_variable_names_it(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text('version: 1\naccount: "${NO_SUCH_VAR}"\nbuckets: []\n')
    r = run(tmp_path, "validate", "-f", "m.yaml")
    assert r.returncode == 1 and "NO_SUCH_VAR" in r.stderr and "m.yaml:2:" in r.stderr


def test_var_flag_fills_variables(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text('version: 1\nbuckets:\n  - name: "${NAME}"\n')
    r = run(tmp_path, "validate", "-f", "m.yaml", "--var", "NAME=from-flag")
    assert r.returncode == 0, r.stderr
    assert "1 bucket" in r.stdout


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    r = run(tmp_path, "plan", "-f", "nope.yaml")
    assert r.returncode == 1 and "nope.yaml" in r.stderr and "Traceback" not in r.stderr


def test_bad_target_address(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets: []\n")
    r = run(tmp_path, "plan", "-f", "m.yaml", "--target", "bucket")
    assert r.returncode == 1 and "--target" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_endpoint_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: app\n")
    r = run(tmp_path, "plan", "-f", "m.yaml")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: ListVectorBuckets: cannot connect to ")  # the first call


def test_manifest_and_flag_disagree_on_account(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text('version: 1\naccount: "2100000009"\nbuckets: []\n')
    r = run(tmp_path, "plan", "-f", "m.yaml")
    assert r.returncode == 1 and "2100000009" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [
    ["plan", "-f", "m.yaml", "--detailed-exitcode", "--parallelism", "0"],  # 2 would mean "changes"
    ["drift", "-f", "m.yaml", "--max-rps", "nan"],                           # 2 would mean "drift"
    ["plan", "-f", "m.yaml", "--format", "xml"],
    ["plan", "-f", "m.yaml", "--no-such-flag"],
    ["no-such-command"],
])
def test_usage_errors_exit_1_in_one_line(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets: []\n")
    r = run(tmp_path, *args)
    assert r.returncode == 1, r.stderr
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("error: ") and "--help)" in r.stderr


def test_settings_read_from_files_may_end_in_a_newline(tmp_path: Path) -> None:
    # TOS_ACCOUNT_ID="$(cat account-id)" keeps the file's newline: it is whitespace, not part of the id
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: app\n")
    port = closed_port()
    # (--target: the bucket is read without listing the account first, so its Host is shown)
    r = run(tmp_path, "plan", "-f", "m.yaml", "--target", "bucket.app",
            env={"TOS_ACCOUNT_ID": "2100000000\n", "TOS_REGION": " cn-shanghai\n",
                 "TOS_ENDPOINT": f"http://127.0.0.1:{port}\n"})
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert r.returncode == 1 and len(errors) == 1, r.stderr
    # the settings were taken: the call went out, to the account's bucket host, and was refused
    assert f"cannot connect to http://127.0.0.1:{port} (Host app-2100000000.127.0.0.1:{port})" in errors[0], errors
