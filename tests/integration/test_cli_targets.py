"""--target through the real CLI on the embedded emulator: it narrows the plan to the
addresses named (a bucket with its indexes and policy), and a target that nothing in the
manifest or its prune scope can match, or that names nothing declared and nothing live, is
called out, instead of reading as "No changes."."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MANIFEST = """\
version: 1
prune:
  buckets: ["old-*"]
buckets:
  - name: app-a
    indexes:
      - name: docs
        dimension: 8
        distanceMetric: cosine
  - name: app-b
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env.update(NO_COLOR="1", TOS_ENDPOINT="embedded")  # chosen by name: CI refuses the implicit fallback
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    return tmp_path


def test_a_bucket_target_plans_that_bucket_with_its_indexes(folder: Path) -> None:
    r = run(folder, "plan", "-f", "m.yaml", "--target", "bucket.app-a", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [c["address"] for c in json.loads(r.stdout)["changes"]] == ["bucket.app-a", "index.app-a/docs"]
    assert "warning" not in r.stderr


@pytest.mark.parametrize("target", ["bucket.app-c", "index.app-a/doc", "policy.app-z"])
def test_a_target_nothing_can_match_is_called_out(folder: Path, target: str) -> None:
    r = run(folder, "apply", "-f", "m.yaml", "--target", target, "--auto-approve")
    assert r.returncode == 0, r.stderr
    assert f"warning: --target {target} is neither declared in the manifest nor in its prune scope" in r.stderr
    assert "No changes." in r.stdout
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("target", ["bucket.app-b", "index.app-a/docs"])
def test_declared_targets_are_not_called_out(folder: Path, target: str) -> None:
    r = run(folder, "plan", "-f", "m.yaml", "--target", target)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr


@pytest.mark.parametrize("target", ["bucket.old-logs", "policy.app-b"])
def test_targets_in_scope_that_name_nothing_declared_or_live_are_called_out(folder: Path, target: str) -> None:
    # old-logs would be pruned if it existed; app-b declares no policy and has none
    r = run(folder, "plan", "-f", "m.yaml", "--target", target)
    assert r.returncode == 0, r.stderr
    assert (f"warning: --target {target} matches nothing declared in the manifest and nothing live: "
            "it selects nothing") in r.stderr.splitlines(), r.stderr
    assert "No changes." in r.stdout
