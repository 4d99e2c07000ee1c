"""Apply under injected faults (429 with Retry-After / 503 / 500) converges, and leaves
everything outside the manifest's scope exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from robust_helpers import Cli, assert_clean_output, expected_state, live_state, manifest
from tos.exceptions import TosServerError
from tos.models2 import Vector, VectorData

from tests.support.emulator import running_emulator
from tests.support.sdk import ACCOUNT, sdk_client

PREFIX, BUCKETS, INDEXES = "flt", 5, 3
MAX_RUNS = 3
FOREIGN_POLICY = json.dumps({"Version": "2025-12-01", "Statement": [
    {"Effect": "Allow", "Principal": [f"{ACCOUNT}/other"], "Action": ["tosvectors:GetIndex"],
     "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/bystander/index/*"]}]})


def _patiently(call, *args, tolerate_conflict: bool = False):
    """Retry an SDK call through injected faults (the SDK's own retries are off)."""
    for attempt in range(30):
        try:
            return call(*args)
        except TosServerError as e:
            if e.status_code == 409 and tolerate_conflict and attempt > 0:
                return None  # our own earlier attempt went through
            if e.status_code != 429 and e.status_code < 500:
                raise
    raise AssertionError(f"{call.__name__} kept failing")


def _bystanders(url: str) -> dict:
    """Out-of-scope objects made with the SDK: a bucket (with an index, vectors and a policy)
    and an unmanaged index holding a vector in a bucket the manifest declares."""
    sdk = sdk_client(url, max_retry_count=0)
    try:
        _patiently(sdk.create_vector_bucket, "bystander", tolerate_conflict=True)
        _patiently(sdk.create_index, "bystander", ACCOUNT, "keep", "float32", 3, "euclidean", tolerate_conflict=True)
        _patiently(sdk.put_vectors, "bystander", ACCOUNT, "keep",
                   [Vector(key="b1", data=VectorData(float32=[1.0, 2.0, 3.0]))])
        _patiently(sdk.put_vector_bucket_policy, "bystander", ACCOUNT, FOREIGN_POLICY)
        _patiently(sdk.create_vector_bucket, f"{PREFIX}-1", tolerate_conflict=True)
        _patiently(sdk.create_index, f"{PREFIX}-1", ACCOUNT, "unmanaged", "float32", 2, "cosine",
                   tolerate_conflict=True)
        _patiently(sdk.put_vectors, f"{PREFIX}-1", ACCOUNT, "unmanaged",
                   [Vector(key="u1", data=VectorData(float32=[0.5, 0.5]))])
        return _patiently(live_state, sdk, ["bystander"])
    finally:
        sdk.close()


@pytest.mark.parametrize("rate", ["0.2", "0.4"])
def test_apply_under_faults_converges_and_leaves_bystanders_alone(rate: str, tmp_path: Path, work: Path, note) -> None:
    data = tmp_path / "data"
    text = manifest(PREFIX, BUCKETS, INDEXES, prune=f"{PREFIX}-*")
    with running_emulator(data, "--latency-ms", "5", "--fault-rate", rate) as emu:
        bystander_before = _bystanders(emu.url)
        cli = Cli(emu.url, work)
        path = cli.write("m.yaml", text)
        runs = []
        for _ in range(MAX_RUNS):
            r = cli("apply", "-f", path, "--auto-approve", timeout=90)
            runs.append(r)
            assert r.returncode in (0, 1), r.stdout + r.stderr
            assert_clean_output(r.stdout, r.stderr)
            if r.returncode == 0:
                break
            # a failed run says why in one line per problem: a failed step, or the refresh's API error
            failed = [ln for ln in r.stdout.splitlines() if ln.startswith("failed")]
            errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
            assert failed or errors, r.stdout + r.stderr
            assert all(("Exception" in ln or "HTTP" in ln) for ln in failed + errors), r.stdout + r.stderr
        assert runs[-1].returncode == 0, f"no convergence in {MAX_RUNS} runs:\n{runs[-1].stdout}{runs[-1].stderr}"
        assert "Apply complete" in runs[-1].stdout or "No changes." in runs[-1].stdout
        why = [next((ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith(("failed", "error:"))), "")
               for r in runs[:-1]]
        note(f"--fault-rate {rate}: converged on run {len(runs)} of at most {MAX_RUNS}"
             + "".join(f"; run {n + 1} failed: {w}" for n, w in enumerate(why)))

    with running_emulator(data) as emu:  # the same data, served without faults
        cli.url = emu.url
        r = cli("plan", "-f", path, "--detailed-exitcode")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "No changes." in r.stdout
        sdk = sdk_client(emu.url)
        try:
            live = live_state(sdk)
            want = expected_state(PREFIX, BUCKETS, INDEXES)
            assert sorted(live) == sorted([*want, "bystander"])
            for bucket, indexes in want.items():
                got = dict(live[bucket]["indexes"])
                if bucket == f"{PREFIX}-1":
                    assert got.pop("unmanaged") == 2  # in a declared bucket, not declared: untouched
                assert got == indexes
                assert json.loads(live[bucket]["policy"])["Statement"][0]["Principal"] == [f"{ACCOUNT}/ci-bot"]
            assert live["bystander"] == bystander_before["bystander"]
            assert [v.key for v in sdk.list_vectors("bystander", "keep", ACCOUNT).vectors] == ["b1"]
            assert [v.key for v in sdk.list_vectors(f"{PREFIX}-1", "unmanaged", ACCOUNT).vectors] == ["u1"]
        finally:
            sdk.close()
        assert "unmanaged" in r.stdout  # the plan reports what it leaves alone
