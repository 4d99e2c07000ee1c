"""Concurrent applies of one manifest, and creates that meet an object that already exists
(ConflictException, resolved by the executor with a Get)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from robust_helpers import Cli, assert_clean_output, base_env, expected_state, manifest

from reconciler import render
from reconciler.apply.result import Status
from reconciler.client import Credentials, RetryPolicy, VectorsClient
from tests.support.embedded import embedded_transport
from reconciler.engine import apply_plan, make_plan
from reconciler.manifest import load_manifests
from reconciler.plan.model import Action, Target
from tests.support.emulator import running_emulator
from tests.support.sdk import ACCOUNT, sdk_client

# The three processes import everything, say so, then wait at this gate, so that they
# start applying within a millisecond of each other instead of a Python start-up apart.
GATED_MAIN = ("import sys, reconciler.cli.commands, reconciler.emulator; from reconciler.cli.parser import main; "
              "print('ready', flush=True); sys.stdin.readline(); sys.exit(main(sys.argv[1:]))")
STEP = re.compile(r"^(done|failed|unknown|skipped|not started)\s+(\S+)\s+(\S+)(?: \([0-9.]+s\))?(?:: (.*))?$")


def steps(stdout: str) -> dict[str, tuple[str, str]]:
    """{address: (status, detail)} of an apply's step lines."""
    out = {}
    for line in stdout.splitlines():
        m = STEP.match(line)
        if m:
            out[m.group(3)] = (m.group(1), m.group(4) or "")
    return out


def test_three_concurrent_applies_all_succeed_and_converge(tmp_path: Path, work: Path, note) -> None:
    prefix, buckets, indexes = "conc", 3, 3
    with running_emulator(tmp_path / "data", "--latency-ms", "200") as emu:
        cli = Cli(emu.url, work)
        path = cli.write("m.yaml", manifest(prefix, buckets, indexes))
        procs = [subprocess.Popen([sys.executable, "-c", GATED_MAIN, "apply", "-f", path, "--auto-approve"],
                                  cwd=work, env=base_env(emu.url), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        try:
            for p in procs:
                assert p.stdout is not None and p.stdout.readline() == "ready\n"
            for p in procs:  # release all three at once
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            results = [p.communicate(timeout=60) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for p, (out, err) in zip(procs, results):
            assert p.returncode == 0, out + err
            assert_clean_output(out, err)
            assert "Apply complete" in out, out

        total = buckets * (1 + indexes + 1)
        reports = [steps(out) for out, _ in results]
        racing = sum(1 for out, _ in results if f"Plan: {total} to create" in out)
        assert racing >= 2, "the applies did not overlap: " + " | ".join(out[-200:] for out, _ in results)
        resolved = 0
        for address in {a for r in reports for a in r}:
            seen = [r[address] for r in reports if address in r]
            assert all(status == "done" for status, _ in seen), seen
            if address.startswith(("bucket.", "index.")):
                created = [d for _, d in seen if "already existed" not in d]
                assert len(created) == 1, (address, seen)  # one creator; the others' Conflicts were checked
                resolved += len(seen) - 1
        assert resolved >= 1
        note(f"{racing} of 3 applies planned every create; {resolved} creates met a Conflict and were "
             f"resolved by the executor's Get check")

        r = cli("plan", "-f", path, "--detailed-exitcode")
        assert r.returncode == 0 and "No changes." in r.stdout, r.stdout + r.stderr
        sdk = sdk_client(emu.url)
        try:  # exactly the declared objects exist, with no duplicates
            listed = {b.vector_bucket_name: sorted(i.index_name for i in sdk.list_indexes(b.vector_bucket_name,
                                                                                          ACCOUNT).indexes)
                      for b in sdk.list_vector_buckets().vector_buckets}
        finally:
            sdk.close()
        assert listed == {b: sorted(i) for b, i in expected_state(prefix, buckets, indexes).items()}


# --- a create that meets Conflict, at the executor with the real client -----------------------

INDEX_MANIFEST = """\
version: 1
buckets:
  - name: app
    indexes:
      - name: docs
        dimension: 4
        distanceMetric: cosine
        nonFilterableMetadataKeys: [body]
"""
TARGET = Target("http://127.0.0.1", "cn-beijing", ACCOUNT)


class LoseFirstResponse(httpx.AsyncBaseTransport):
    """Forwards every request to the in-process emulator, but answers the first request of
    `action` with a 503 after the emulator carried it out: the client's retry then meets a
    ConflictException, as when a response is lost on the way back."""

    def __init__(self, inner: httpx.AsyncBaseTransport, action: str):
        self.inner, self.action, self.lost = inner, action, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == f"/{self.action}" and not self.lost:
            self.lost += 1
            await response.aread()
            return httpx.Response(503, json={"Code": "ServiceUnavailableException", "Message": "lost response",
                                             "RequestId": "r-lost", "HostId": "h", "EC": ""})
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _client(transport: httpx.AsyncBaseTransport) -> VectorsClient:
    return VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT, transport=transport,
                         credentials=Credentials("", ""), retry=RetryPolicy(base_delay=0.0, max_delay=0.0))


def _manifest(tmp_path: Path, text: str):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_manifests([str(path)], {})


@pytest.mark.parametrize("action", ["CreateVectorBucket", "CreateIndex"])
def test_retried_create_meeting_conflict_succeeds_when_what_exists_matches(tmp_path: Path, action: str) -> None:
    async def go():
        transport = LoseFirstResponse(embedded_transport(tmp_path / "data"), action)
        async with _client(transport) as client:
            plan = await make_plan(client, _manifest(tmp_path, INDEX_MANIFEST), TARGET)
            result = await apply_plan(client, plan)
            index = await client.get_index("app", "docs")
        return transport, result, index

    transport, result, index = asyncio.run(go())
    assert transport.lost == 1
    assert result.ok, [render.step_line(s) for s in result.steps]
    by_address = {s.address: s for s in result.steps}
    lost = by_address["bucket.app" if action == "CreateVectorBucket" else "index.app/docs"]
    assert lost.status == Status.DONE and "already existed" in lost.detail
    assert (index.dimension, index.distance_metric) == (4, "cosine")


def test_create_meeting_a_different_object_fails_clearly(tmp_path: Path) -> None:
    """Between plan and apply someone creates the index with another dimension: the step
    fails with one line naming the difference; nothing is overwritten."""

    async def go():
        async with _client(embedded_transport(tmp_path / "data")) as client:
            await client.create_vector_bucket("app")
            plan = await make_plan(client, _manifest(tmp_path, INDEX_MANIFEST), TARGET)
            assert [(c.address, c.action) for c in plan.changes] == [("index.app/docs", Action.CREATE)]
            await client.create_index("app", "docs", dimension=8, distance_metric="cosine", data_type="float32")
            result = await apply_plan(client, plan)
            index = await client.get_index("app", "docs")
        return result, index

    result, index = asyncio.run(go())
    assert not result.ok
    (step,) = result.steps
    assert step.status == Status.FAILED
    line = render.step_line(step)
    assert "\n" not in line
    assert "already exists with different attributes" in line and "dimension is 8 (wanted 4)" in line, line
    assert "nonFilterableMetadataKeys" in line  # the other difference is named too
    assert render.apply_verdict(result) == "Apply failed: 0 done, 1 failed, 0 skipped, 0 not started."
    assert index.dimension == 8  # the other party's index is left as it was
