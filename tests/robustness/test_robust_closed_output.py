"""A reader that goes away (`reconciler apply ... | head`) must not stop an apply half-way:
the output is dropped, the apply runs to the end and exits as it would have. Before, the
first step line written to the closed pipe raised BrokenPipeError inside the executor,
which cancelled the steps in flight and reported an internal error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from robust_helpers import base_env, manifest


@pytest.mark.parametrize("stream", ["stdout", "stdout and stderr"])
def test_apply_runs_to_the_end_when_its_output_is_closed(tmp_path: Path, stream: str) -> None:
    (tmp_path / "m.yaml").write_text(manifest("cl", 12, 25))  # about 90 KB of plan: more than a pipe holds
    env = base_env(None, {"TOS_ENDPOINT": "embedded"})  # the embedded emulator, in tmp_path
    both = stream == "stdout and stderr"
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "-f", "m.yaml", "--auto-approve"],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if both else subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    err = ""
    if not both:
        assert proc.stderr is not None
        with proc.stderr:
            err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert "internal error" not in err and "Traceback" not in err, err

    again = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", "m.yaml", "--detailed-exitcode"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "No changes." in again.stdout, again.stdout + again.stderr
