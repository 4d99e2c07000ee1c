"""prune.olderThan counts ages by the SERVICE's clock (its Date header), not the runner's: a
CI machine whose clock is days ahead must not make young preview buckets look old. No usable
Date, or one more than a day off this machine's clock, keeps every bucket in scope."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler import engine
from reconciler.client.models import VectorBucketSummary
from reconciler.client.protocol import RefreshApi
from reconciler.errors import NotFoundError
from reconciler.manifest import Manifest, load_manifests
from reconciler.plan import build
from reconciler.plan.build import PlanOptions, ServiceNow, build_plan, service_now
from reconciler.plan.model import Plan, Target

TARGET = Target("https://tosvectors-cn-beijing.volces.com", "cn-beijing", "2100000000")
EMBEDDED = Target("embedded:/x", "cn-beijing", "2100000000", embedded=True)
DAY, HOUR = 86400, 3600
NOW = 2_000_000_000  # the service's time
NIGHTLY = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 12h\nbuckets: []\n'


def manifest(tmp_path: Path, text: str = NIGHTLY) -> Manifest:
    (tmp_path / "m.yaml").write_text(text)
    return load_manifests([str(tmp_path / "m.yaml")], {}, environ={})


# --- the rules, pure ---------------------------------------------------------------------------

def test_the_service_time_is_now_and_a_clock_in_step_says_nothing() -> None:
    assert service_now(NOW, NOW + 120, embedded=False) == ServiceNow(now=NOW)


@pytest.mark.parametrize(("local", "said"), [(NOW + 20 * HOUR, "20h ahead of"), (NOW - 6 * 60, "6m behind")])
def test_a_runner_clock_minutes_or_hours_off_is_said_and_the_service_time_counts(local: float, said: str) -> None:
    got = service_now(NOW, local, embedded=False)
    assert got.now == NOW and got.unknown is None
    assert got.warning == (f"warning: this machine's clock is {said} the service's (its Date header); "
                           "prune.olderThan counts ages by the service's clock")


@pytest.mark.parametrize("service", [NOW + 3 * DAY, datetime(2999, 1, 1, tzinfo=UTC).timestamp(), NOW - 2 * DAY])
def test_a_date_more_than_a_day_off_is_not_believed(service: float) -> None:
    """A hostile endpoint's Date in the year 2999 would make every bucket look old."""
    got = service_now(service, NOW, embedded=False)
    assert got.now is None and got.unknown is not None and "more than 1d" in got.unknown
    assert got.warning is not None and "prune.olderThan deletes nothing this run" in got.warning


def test_no_date_is_unknown_except_on_the_embedded_emulator_whose_clock_is_this_one() -> None:
    assert service_now(None, NOW, embedded=False) == ServiceNow(unknown="its answers carry no usable Date header")
    assert service_now(None, NOW, embedded=True) == ServiceNow(now=NOW)


def test_an_unknown_time_keeps_every_bucket_in_scope_saying_why(tmp_path: Path) -> None:
    from tests.planner.test_planner_semantics import live

    state = live(("pr-old", {}), ("pr-young", {}), created={"pr-old": NOW - 30 * DAY, "pr-young": NOW - 60})
    plan = build_plan(manifest(tmp_path), state, TARGET, PlanOptions(now=NOW, time_unknown="no Date"))
    assert plan.changes == ()
    assert [(k.address, k.reason) for k in plan.kept] == [
        (f"bucket.{n}", "matches prune pattern 'pr-*', but the service's time is unknown (no Date), "
                        "and prune.olderThan is 12h") for n in ("pr-old", "pr-young")]


# --- the engine: make_plan takes "now" from the client ---------------------------------------

class Account:
    """The service as a fake client: its buckets (created at the service's times), the
    service's time its answers say (None: no Date), and this machine's clock."""

    def __init__(self, service: float | None, local: float, **created: int):
        self.service, self.local, self.created = service, local, created

    async def all_vector_buckets(self, *, prefix: str | None = None) -> list[VectorBucketSummary]:
        return [VectorBucketSummary(n, f"trn:{n}", t) for n, t in self.created.items()]

    async def all_indexes(self, bucket: str, /, *, prefix: str | None = None) -> list[Any]:
        return []

    async def get_index(self, bucket: str, index: str, /) -> Any:
        raise AssertionError("not called: the buckets hold no indexes")

    async def get_vector_bucket_policy(self, bucket: str, /) -> str:
        raise NotFoundError("GetVectorBucketPolicy", 404, "VectorBucketPolicyNotFound", "no policy", "r")

    async def list_vectors(self, bucket: str, index: str, /, *, max_results: int | None = None) -> Any:
        raise AssertionError("not called")

    def service_time(self) -> datetime | None:
        return None if self.service is None else datetime.fromtimestamp(self.service, UTC)

    def local_time(self) -> datetime:
        return datetime.fromtimestamp(self.local, UTC)


_: RefreshApi = Account(None, 0)


def plan_with(tmp_path: Path, client: Account, target: Target = TARGET,
              options: PlanOptions = PlanOptions()) -> tuple[Plan, list[str]]:
    warnings: list[str] = []
    plan = asyncio.run(engine.make_plan(client, manifest(tmp_path), target, options, warn=warnings.append))
    return plan, warnings


def test_a_runner_clock_hours_ahead_does_not_make_a_young_bucket_old(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The service says pr-young is 2 hours old; the runner, 20 hours ahead, would say 22:
    past olderThan 12h, and the nightly job deleted it."""
    runner = NOW + 20 * HOUR
    monkeypatch.setattr(build, "time", SimpleNamespace(time=lambda: runner))  # the runner's clock
    plan, warnings = plan_with(tmp_path, Account(NOW, runner, **{"pr-young": NOW - 2 * HOUR, "pr-old": NOW - DAY}))
    assert [c.address for c in plan.changes] == ["bucket.pr-old"]
    assert [(k.address, k.reason) for k in plan.kept] == [
        ("bucket.pr-young", "matches prune pattern 'pr-*', but it was created 2h ago, less than prune.olderThan (12h)")]
    assert warnings == ["warning: this machine's clock is 20h ahead of the service's (its Date header); "
                        "prune.olderThan counts ages by the service's clock"]


def test_without_a_service_time_nothing_is_pruned_by_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "time", SimpleNamespace(time=lambda: NOW))
    plan, warnings = plan_with(tmp_path, Account(None, NOW, **{"pr-old": NOW - 30 * DAY}))
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-old"]
    assert "the service's time is unknown (its answers carry no usable Date header)" in plan.kept[0].reason
    assert warnings == []
    # the embedded emulator's clock is this machine's: it prunes by it
    plan, _ = plan_with(tmp_path, Account(None, NOW, **{"pr-old": NOW - 30 * DAY}), EMBEDDED)
    assert [c.address for c in plan.changes] == ["bucket.pr-old"]


def test_a_callers_own_now_wins_and_a_manifest_without_older_than_reads_no_clock(tmp_path: Path) -> None:
    plan, warnings = plan_with(tmp_path, Account(None, NOW, **{"pr-old": NOW - 30 * DAY}), options=PlanOptions(now=NOW))
    assert [c.address for c in plan.changes] == ["bucket.pr-old"] and warnings == []
    (tmp_path / "m.yaml").write_text('version: 1\nprune:\n  buckets: ["pr-*"]\nbuckets: []\n')
    warnings = []
    plan = asyncio.run(engine.make_plan(Account(NOW + 9 * DAY, NOW, **{"pr-old": NOW}),
                                        load_manifests([str(tmp_path / "m.yaml")], {}, environ={}), TARGET,
                                        warn=warnings.append))
    assert [c.address for c in plan.changes] == ["bucket.pr-old"] and warnings == []
