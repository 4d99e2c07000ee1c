"""Round 18, the CLI half (slow: each test runs the real CLI as a subprocess against
tests/support/hostile_server.py). The in-process half is test_attack_round18.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import hostile_server
from tests.support.hostile_server import ACCOUNT, MANIFEST, bucket_summary, hostile_endpoint

TIMEOUT = 60.0  # a hang guard, not a speed check
INJECTED = "\nDEPLOY_TARGET=attacker.example"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOS_", "RECONCILER_")) and k.lower() not in (
        "http_proxy", "https_proxy", "all_proxy", "ci")}
    env.update({"TOS_ACCESS_KEY": "AKLTdummyaccesskey", "TOS_SECRET_KEY": "ZHVtbXlzZWNyZXQ=",
                "TOS_ACCOUNT_ID": ACCOUNT, "NO_COLOR": "1", **extra})
    return env


def run_cli(url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--endpoint", url], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=TIMEOUT)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 1, (proc.stdout[-1000:], proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    return lines[0]


# --- prune.olderThan against an endpoint that lists a bucket twice --------------------------------

PRUNE = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 7d\nbuckets: []\n'


def _listing(*entries: tuple[str, int]) -> tuple[int, Any]:
    return 200, {"vectorBuckets": [{**bucket_summary(name), "creationTime": when} for name, when in entries]}


@pytest.mark.parametrize("young_first", [True, False])
def test_prune_never_deletes_a_bucket_the_list_also_calls_young(young_first: bool, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """ListVectorBuckets naming pr-1 twice, created a minute ago and a month ago: the
    last entry won, so with the young one first a bucket the service called 1 minute old
    was planned for deletion (twice: two DESTROYED blocks, `2 to delete`)."""
    now = int(time.time())
    entries = [("pr-1", now - 60), ("pr-1", now - 30 * 86400)]
    (tmp_path / "m.yaml").write_text(PRUNE)
    listing = _listing(*(entries if young_first else entries[::-1]))
    monkeypatch.setitem(hostile_server.NORMAL, "ListVectorBuckets", listing)
    monkeypatch.setitem(hostile_server.NORMAL, "ListIndexes", (200, {"indexes": []}))
    with hostile_endpoint(None) as server:
        proc = run_cli(server.url, tmp_path, "plan", "-f", "m.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "DESTROYED" not in proc.stdout and "No changes" in proc.stdout, proc.stdout
    assert proc.stdout.count("bucket.pr-1: matches prune pattern") == 1, proc.stdout


def test_prune_lists_a_bucket_named_twice_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = int(time.time()) - 30 * 86400
    (tmp_path / "m.yaml").write_text(PRUNE)
    monkeypatch.setitem(hostile_server.NORMAL, "ListVectorBuckets", _listing(("pr-1", old), ("pr-1", old)))
    monkeypatch.setitem(hostile_server.NORMAL, "ListIndexes", (200, {"indexes": []}))
    with hostile_endpoint(None) as server:
        proc = run_cli(server.url, tmp_path, "plan", "-f", "m.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("bucket.pr-1 will be DESTROYED") == 1 and "1 to delete" in proc.stdout, proc.stdout


# --- `output` -------------------------------------------------------------------------------------

def test_output_cli_refuses_an_injected_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    answer = {"vectorBucket": {**bucket_summary(), "vectorBucketTrn": "trn:x" + INJECTED}}
    monkeypatch.setitem(hostile_server.NORMAL, "GetVectorBucket", (200, answer))
    with hostile_endpoint(None) as server:
        proc = run_cli(server.url, tmp_path, "output", "-f", "m.yaml", "--format", "text")
    line = _one_error_line(proc)
    assert proc.stdout == "" and "BUCKET_HOSTILE_TRN" in line, (proc.stdout, line)


# --- a plan file `plan --out` writes is one `apply FILE` reads ----------------------------------

@pytest.mark.parametrize("odd", ["with space", "tab\there", "nl\nx"])
def test_plan_out_never_writes_a_file_that_apply_then_calls_corrupt(odd: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint listing a bucket named `with space` (nobody manages it: listed as left
    alone) made `plan --out` save a file that `show` and `apply` refused as corrupt, found
    only at apply time, in the next job. It is refused when saving, in one line."""
    (tmp_path / "m.yaml").write_text(MANIFEST)
    listing = {"vectorBuckets": [bucket_summary(), bucket_summary(odd)]}
    monkeypatch.setitem(hostile_server.NORMAL, "ListVectorBuckets", (200, listing))
    with hostile_endpoint(None) as server:
        proc = run_cli(server.url, tmp_path, "plan", "-f", "m.yaml", "--out", "p.plan")
        if proc.returncode == 0:  # then the file it wrote must read back
            shown = subprocess.run([sys.executable, "-m", "reconciler", "show", "p.plan"], cwd=tmp_path, env=_env(),
                                   capture_output=True, text=True, timeout=TIMEOUT)
            assert shown.returncode == 0, shown.stderr
            return
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(line) == 1 and "not written" in line[0], proc.stderr
    assert not (tmp_path / "p.plan").exists()


def test_output_cli_a_creation_time_past_any_date_is_one_error_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    answer = {"vectorBucket": {**bucket_summary(), "creationTime": 10**17}}
    monkeypatch.setitem(hostile_server.NORMAL, "GetVectorBucket", (200, answer))
    with hostile_endpoint(None) as server:
        proc = run_cli(server.url, tmp_path, "output", "-f", "m.yaml")
    line = _one_error_line(proc)
    assert "creationTime 100000000000000000" in line, line
