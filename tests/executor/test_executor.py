"""The executor against a recording fake client: order, failure isolation, interrupts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.apply.executor import execute

from reconciler.apply.result import ApplyResult, Status
from reconciler.apply.guardrails import Consent, refusals
from reconciler.client.models import Index
from reconciler.client.protocol import ApplyApi
from reconciler.errors import ConflictError, NotFoundError, ServerError, ServiceError
from reconciler.plan.model import Action, Change, Plan, Target

TARGET = Target("http://x", "cn-beijing", "2100000000")
IDX = {"dataType": "float32", "dimension": 4, "distanceMetric": "cosine", "nonFilterableMetadataKeys": []}


def live_index(name: str, *, dimension: int = 4) -> Index:
    """What GetIndex answers for an index in bucket a (float32, cosine, no metadata keys)."""
    return Index(bucket="a", name=name, trn=f"trn:tos:cn-beijing:2100000000:bucket/a/index/{name}", creation_time=0,
                 data_type="float32", dimension=dimension, distance_metric="cosine")


class FakeClient:
    """Records calls in order; `fail` maps a call name to the exception it raises. It stands
    in for what the executor calls of the real client (mypy checks that below)."""

    def __init__(self, fail: dict[str, Exception] | None = None, delay: float = 0.0):
        self.calls: list[str] = []
        self.fail = fail or {}
        self.delay = delay
        self.existing_index = live_index("x")

    async def _call(self, name: str) -> None:
        await asyncio.sleep(self.delay)
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    async def create_vector_bucket(self, b: str) -> None:
        await self._call(f"create_bucket {b}")

    async def get_vector_bucket(self, b: str) -> Any:
        await self._call(f"get_bucket {b}")

    async def delete_vector_bucket(self, b: str) -> None:
        await self._call(f"delete_bucket {b}")

    async def create_index(self, b: str, i: str, **kw: Any) -> None:
        await self._call(f"create_index {b}/{i}")

    async def get_index(self, b: str, i: str) -> Index:
        await self._call(f"get_index {b}/{i}")
        return self.existing_index

    async def delete_index(self, b: str, i: str) -> None:
        await self._call(f"delete_index {b}/{i}")

    async def put_vector_bucket_policy(self, b: str, text: str) -> None:
        await self._call(f"put_policy {b}")

    async def delete_vector_bucket_policy(self, b: str) -> None:
        await self._call(f"delete_policy {b}")


_: ApplyApi = FakeClient()


def ch(address: str, kind: str, action: Action, deps: tuple[str, ...] = (), after: Any = None, **kw: Any) -> Change:
    return Change(address, kind, action, None, after, "test", depends_on=deps, **kw)


def err(cls: type[ServiceError], status: int, code: str) -> Exception:
    return cls("X", status, code, "boom", request_id="req-1")


UP = Plan(TARGET, (
    ch("bucket.a", "bucket", Action.CREATE),
    ch("index.a/x", "index", Action.CREATE, ("bucket.a",), after=IDX),
    ch("index.a/y", "index", Action.CREATE, ("bucket.a",), after=IDX),
    ch("policy.a", "policy", Action.CREATE, ("bucket.a", "index.a/x", "index.a/y"), after={"document": {}}),
    ch("bucket.b", "bucket", Action.CREATE),
))


def run(plan: Plan, client: FakeClient, **kw: Any) -> ApplyResult:
    return asyncio.run(execute(plan, client, **kw))


def test_parents_before_children_and_all_done() -> None:
    client = FakeClient()
    result = run(UP, client)
    assert result.ok and result.count(Status.DONE) == 5
    order = client.calls
    assert order.index("create_bucket a") < order.index("create_index a/x") < order.index("put_policy a")
    assert order.index("create_index a/y") < order.index("put_policy a")


def test_failure_skips_dependents_only() -> None:
    client = FakeClient(fail={"create_index a/x": err(ServerError, 500, "InternalServerException")})
    result = run(UP, client)
    by = {s.address: s for s in result.steps}
    assert by["index.a/x"].status == Status.FAILED and "InternalServerException" in by["index.a/x"].detail
    assert by["policy.a"].status == Status.SKIPPED and "index.a/x" in by["policy.a"].detail
    assert by["index.a/y"].status == Status.DONE and by["bucket.b"].status == Status.DONE
    assert "put_policy a" not in client.calls and not result.ok


def test_conflict_on_create_with_matching_index_is_success() -> None:
    client = FakeClient(fail={"create_index a/x": err(ConflictError, 409, "ConflictException")})
    plan = Plan(TARGET, (ch("index.a/x", "index", Action.CREATE, after=IDX),))
    result = run(plan, client)
    assert result.ok and "already existed" in result.steps[0].detail


def test_conflict_on_create_with_different_index_fails_clearly() -> None:
    client = FakeClient(fail={"create_index a/x": err(ConflictError, 409, "ConflictException")})
    client.existing_index = live_index("x", dimension=8)
    result = run(Plan(TARGET, (ch("index.a/x", "index", Action.CREATE, after=IDX),)), client)
    assert result.steps[0].status == Status.FAILED
    assert "dimension is 8 (wanted 4)" in result.steps[0].detail


def test_delete_of_missing_object_counts_as_done() -> None:
    client = FakeClient(fail={"delete_index a/x": err(NotFoundError, 404, "VectorIndexNotFound")})
    result = run(Plan(TARGET, (ch("index.a/x", "index", Action.DELETE),)), client)
    assert result.ok and result.steps[0].detail == "already gone"


def test_replace_deletes_then_creates() -> None:
    client = FakeClient()
    run(Plan(TARGET, (ch("index.a/x", "index", Action.REPLACE, after=IDX, destroys_data=True),)), client)
    assert client.calls == ["delete_index a/x", "create_index a/x"]


def test_stop_starts_nothing_new_and_reports_not_started() -> None:
    client = FakeClient(delay=0.01)
    stop = asyncio.Event()
    stop.set()
    result = run(UP, client, stop=stop)
    assert result.interrupted and client.calls == []
    assert {s.status for s in result.steps} == {Status.NOT_STARTED}  # dependents too: nothing failed


def test_parallelism_bounds_concurrency() -> None:
    active = 0
    peak = 0

    class Counting(FakeClient):
        async def _call(self, name: str) -> None:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    plan = Plan(TARGET, tuple(ch(f"bucket.b{i}", "bucket", Action.CREATE) for i in range(12)))
    run(plan, Counting(), parallelism=3)
    assert peak == 3


def test_unknown_kind_action_pair_is_rejected_before_any_call() -> None:
    client = FakeClient()
    with pytest.raises(ValueError, match="no handler"):
        run(Plan(TARGET, (ch("bucket.a", "bucket", Action.UPDATE),)), client)
    assert client.calls == []


def test_guardrails() -> None:
    plan = Plan(TARGET, (
        ch("index.a/x", "index", Action.DELETE, destroys_data=True, holds_vectors=True),
        ch("index.a/y", "index", Action.REPLACE, destroys_data=True, prevent_destroy=True),
        ch("policy.a", "policy", Action.DELETE),
    ))
    refused = refusals(plan, Consent())
    assert len(refused) == 2 and "holds vectors" in refused[0] and "--allow-destroy" in refused[0]
    for consent in (Consent(allow_destroy=True), Consent(destroy_verb=True)):
        assert refusals(plan, consent) == ["index.a/y: replace destroys data, and it has preventDestroy: true"]


def unanswered(action: str) -> Exception:
    from reconciler.errors import TransportError

    e = TransportError(action, "timed out waiting for a-2100000000.127.0.0.1 (ReadTimeout) (after 6 attempts)")
    e.outcome_unknown = True
    return e


def test_an_unanswered_write_is_unknown_not_failed_and_holds_back_its_dependents() -> None:
    client = FakeClient(fail={"create_index a/x": unanswered("CreateIndex")})
    result = run(UP, client)
    by = {s.address: s for s in result.steps}
    assert by["index.a/x"].status == Status.UNKNOWN
    assert by["index.a/x"].detail == (
        "CreateIndex: timed out waiting for a-2100000000.127.0.0.1 (ReadTimeout) (after 6 attempts): "
        "an attempt got no answer, so it may or may not have taken effect; run `reconciler plan` to see")
    assert by["policy.a"].status == Status.SKIPPED
    assert by["policy.a"].detail == "index.a/x may or may not have taken effect"
    assert by["index.a/y"].status == Status.DONE and not result.ok
    assert (result.count(Status.UNKNOWN), result.count(Status.FAILED)) == (1, 0)


def test_an_unanswered_delete_of_a_replace_is_unknown() -> None:
    client = FakeClient(fail={"delete_index a/x": unanswered("DeleteIndex")})
    plan = Plan(TARGET, (ch("index.a/x", "index", Action.REPLACE, after=IDX, destroys_data=True),))
    (step,) = run(plan, client).steps
    assert step.status == Status.UNKNOWN and client.calls == ["delete_index a/x"]  # no create after it


def test_a_failure_with_an_answer_stays_failed() -> None:
    client = FakeClient(fail={"put_policy a": err(ServerError, 503, "ServiceUnavailableException")})
    result = run(UP, client)
    assert {s.address: s.status for s in result.steps}["policy.a"] == Status.FAILED
