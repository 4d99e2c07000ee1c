"""One check of a watch against the in-process emulator: events only when the set of
drifted resources changes, a failed check (invalid manifest, failed or partial refresh, a
refresh that hangs) that reports and changes nothing, and remediation under the consent
rules of `apply -f`."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from reconciler import engine
from reconciler.apply.guardrails import Consent
from reconciler.errors import ServerError, ThrottledError, TransportError
from reconciler.plan.model import Action, Change, Plan, Target
from reconciler.watch import config as config_module
from reconciler.watch.check import split_by_consent
from tests.watch.conftest import MANIFEST, Estate, run

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")


def drift_items(estate: Estate) -> dict[str, dict[str, Any]]:
    """The items `reconciler drift --format json` prints, by address."""
    async def go(c: Any) -> Any:
        return await engine.drift(c, estate.load(), estate.target)

    return {i["address"]: i for i in estate.call(go).to_dict()["items"]}


class Failing:
    """A client whose `methods` answer 503 (a storm that outlasted the client's retries)
    for the first `times` checks; everything else is the real in-process client."""

    def __init__(self, estate: Estate, *methods: str, times: int = 1, error: Exception | None = None):
        self.estate, self.methods, self.left = estate, methods, times
        self.error = error or ServerError("GetIndex", 503, "ServiceUnavailable", "try later", request_id="req-1")

    def __call__(self) -> Any:
        failing = self.left > 0
        self.left -= 1
        inner, methods, error = self.estate.client(), self.methods, self.error

        class Client:
            async def __aenter__(self) -> Any:
                return self

            async def __aexit__(self, *exc: object) -> None:
                await inner.aclose()

            def __getattr__(self, name: str) -> Any:
                if failing and name in methods:
                    async def storm(*args: Any, **kwargs: Any) -> Any:
                        raise error

                    return storm
                return getattr(inner, name)

        return Client()


def test_drift_events_follow_the_set_of_drifted_resources(estate: Estate, harness: Any) -> None:
    estate.build()
    h = harness()
    assert h.check() == "in_sync" and h.types() == []

    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    assert h.check() == "drift"
    assert h.types() == ["drift.detected"]
    event = h.new_events[0]
    assert event["addresses"] == ["index.wa-app/faq"]
    assert event["drift"] == [drift_items(estate)["index.wa-app/faq"]]  # as `drift --format json` has it
    assert event["target"] == {"account": "2100000000", "region": "cn-beijing", "endpoint": estate.target.endpoint}
    assert RFC3339_UTC.match(event["time"])
    assert "plan" not in event  # no --plan-dir

    assert h.check() == "drift" and h.types() == []  # the same drift: never again
    assert h.check() == "drift" and h.types() == []

    estate.call(lambda c: c.create_index("wa-app", "extra", dimension=2, distance_metric="cosine"))
    assert h.check() == "drift"
    assert [(e["type"], e["addresses"]) for e in h.new_events] == [("drift.detected", ["index.wa-app/extra"])]
    assert h.new_events[0]["drift"][0]["kind"] == "unmanaged"

    estate.call(lambda c: c.create_index("wa-app", "faq", dimension=3, distance_metric="euclidean"))
    assert h.check() == "drift"
    assert [(e["type"], e["addresses"]) for e in h.new_events] == [("drift.resolved", ["index.wa-app/faq"])]
    assert h.new_events[0]["drift"] == [event["drift"][0]]  # what had drifted

    estate.call(lambda c: c.delete_index("wa-app", "extra"))
    assert h.check() == "in_sync" and h.types() == ["drift.resolved"]

    assert h.sample("reconciler_checks_total", result="in_sync") == 2
    assert h.sample("reconciler_checks_total", result="drift") == 5
    assert h.sample("reconciler_checks_total", result="error") == 0
    assert h.sample("reconciler_drift_resources", kind="missing") == 0
    assert h.sample("reconciler_check_duration_seconds_count") == 7


def test_drift_gauges_count_each_kind(estate: Estate, harness: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    estate.call(lambda c: c.create_index("wa-app", "extra", dimension=2, distance_metric="cosine"))
    estate.call(lambda c: c.create_vector_bucket("wa-stray"))
    h = harness()
    h.check()
    assert {k: h.sample("reconciler_drift_resources", kind=k) for k in ("changed", "missing", "unmanaged")} == \
        {"changed": 0, "missing": 1, "unmanaged": 2}
    assert h.new_events[0]["addresses"] == ["bucket.wa-stray", "index.wa-app/extra", "index.wa-app/faq"]


def test_an_invalid_manifest_is_a_failed_check_that_keeps_the_drift_it_knew(estate: Estate, harness: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    h = harness()
    h.check()
    success = h.sample("reconciler_last_success_timestamp_seconds")

    estate.manifest.write_text(MANIFEST.replace("dimension: 4", "dimension: four"))
    assert h.check() == "error"
    assert h.types() == ["check.failed"]
    assert re.match(r".*estate\.yaml:\d+:\d+: ", h.new_events[0]["error"]), h.new_events[0]
    assert any(line.startswith("check failed: ") and "estate.yaml:" in line for line in h.lines)
    assert h.sample("reconciler_checks_total", result="error") == 1
    assert h.sample("reconciler_last_success_timestamp_seconds") == success
    assert h.sample("reconciler_drift_resources", kind="missing") == 1  # the last known drift

    estate.manifest.write_text(MANIFEST)
    assert h.check() == "drift" and h.types() == []  # nothing resolved, nothing new


def test_a_manifest_that_moves_to_another_account_fails_the_check(estate: Estate, harness: Any) -> None:
    estate.build()
    estate.manifest.write_text('account: "2100000009"\n' + MANIFEST)
    h = harness()
    assert h.check() == "error"
    assert "restart the watch" in h.new_events[0]["error"]


@pytest.mark.parametrize("method", ["all_vector_buckets", "all_indexes", "get_index"])
def test_a_failed_or_partial_refresh_remediates_nothing(estate: Estate, harness: Any, method: str) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    h = harness(remediate=True, open_client=Failing(estate, method))
    assert h.check() == "error"
    assert h.types() == ["check.failed"]
    assert h.new_events[0]["error"] == "GetIndex: 503 ServiceUnavailable: try later (request id req-1)"
    assert "index.wa-app/faq" in drift_items(estate)  # still missing: nothing was applied
    assert h.sample("reconciler_remediations_total", result="applied") == 0

    assert h.check() == "drift"  # the next check tries again, and this time reads everything
    assert h.types() == ["drift.detected", "remediation.applied"]
    assert drift_items(estate) == {}


@pytest.mark.parametrize("error", [
    ThrottledError("ListIndexes", 429, "TooManyRequestsException", "slow down", request_id="req-2", attempts=16),
    TransportError("ListIndexes", "timed out after 30 s (6 attempts)"),
    TransportError("ListIndexes", "connection refused (6 attempts)")], ids=["throttled", "timeout", "down"])
def test_throttling_timeouts_and_a_service_that_is_down_are_failed_checks(estate: Estate, harness: Any,
                                                                          error: Exception) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    h = harness(remediate=True, open_client=Failing(estate, "all_indexes", error=error))
    assert h.check() == "error" and h.types() == ["check.failed"]
    assert h.new_events[0]["error"] == str(error)
    assert "index.wa-app/faq" in drift_items(estate)


def test_a_refresh_that_hangs_is_abandoned_at_the_deadline(estate: Estate, harness: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "MIN_CHECK_DEADLINE", 0.3)
    estate.build()

    class Hanging(Failing):
        def __call__(self) -> Any:
            client = super().__call__()
            inner_getattr = type(client).__getattr__

            def getattr_(this: Any, name: str) -> Any:
                if name == "all_indexes":
                    async def hang(*args: Any, **kwargs: Any) -> Any:
                        await asyncio.sleep(3600)

                    return hang
                return inner_getattr(this, name)

            type(client).__getattr__ = getattr_  # type: ignore[method-assign]
            return client

    h = harness(interval=0.1, open_client=Hanging(estate, times=0))
    assert h.check() == "error"
    assert "did not finish" in h.new_events[0]["error"]


def test_remediation_applies_what_the_flags_allow_and_refuses_the_rest(estate: Estate, harness: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "docs"))
    estate.call(lambda c: c.create_index("wa-app", "docs", dimension=8, distance_metric="cosine"))  # replace
    estate.call(lambda c: c.delete_index("wa-app", "faq"))  # create
    h = harness(remediate=True)
    assert h.check() == "drift"
    assert h.types() == ["drift.detected", "remediation.refused", "remediation.applied"]
    refused, applied = h.new_events[1:]
    assert refused["addresses"] == ["index.wa-app/docs"]
    assert "destroys data" in refused["reason"] and "--allow-destroy" in refused["reason"]
    assert applied["addresses"] == ["index.wa-app/faq"]
    assert applied["reason"]
    assert list(drift_items(estate)) == ["index.wa-app/docs"]  # refused: left as it was
    assert h.sample("reconciler_remediations_total", result="refused") == 1
    assert h.sample("reconciler_remediations_total", result="applied") == 1

    assert h.check() == "drift"  # what was remediated is back in sync; what was refused is not tried again
    assert [(e["type"], e["addresses"]) for e in h.new_events] == [("drift.resolved", ["index.wa-app/faq"])]
    assert h.check() == "drift" and h.types() == []


def test_allow_destroy_lets_remediation_replace(estate: Estate, harness: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "docs"))
    estate.call(lambda c: c.create_index("wa-app", "docs", dimension=8, distance_metric="cosine"))
    h = harness(remediate=True, allow_destroy=True)
    h.check()
    assert h.types() == ["drift.detected", "remediation.applied"]
    assert drift_items(estate) == {}


def test_prevent_destroy_holds_even_with_allow_destroy(estate: Estate, harness: Any) -> None:
    estate.manifest.write_text(MANIFEST.replace("distanceMetric: cosine}", "distanceMetric: cosine, "
                                                "preventDestroy: true}"))
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "docs"))
    estate.call(lambda c: c.create_index("wa-app", "docs", dimension=8, distance_metric="cosine"))
    h = harness(remediate=True, allow_destroy=True)
    h.check()
    assert h.types() == ["drift.detected", "remediation.refused"]
    assert "preventDestroy" in h.new_events[1]["reason"]
    assert "index.wa-app/docs" in drift_items(estate)


PUBLIC = {"Version": "2025-12-01", "Statement": [{
    "Effect": "Allow", "Principal": ["*"], "Action": ["tosvectors:QueryVectors"],
    "Resource": ["trn:tosvectors:cn-beijing:2100000000:bucket/wa-app/index/*"]}]}


@pytest.mark.parametrize(("flag", "declared", "outcome"), [
    (False, False, "remediation.refused"), (True, False, "remediation.applied"), (False, True, "remediation.applied")])
def test_a_public_grant_needs_consent(estate: Estate, harness: Any, flag: bool, declared: bool, outcome: str) -> None:
    extra = "    allowPublicAccess: true\n" if declared else ""
    estate.manifest.write_text(MANIFEST.replace("    pruneIndexes: true\n", "    pruneIndexes: true\n" + extra +
                                                f"    policy: {json.dumps(PUBLIC)}\n"))
    estate.build()
    h = harness(remediate=True, allow_public_access=flag)
    h.check()
    assert h.types() == ["drift.detected", outcome]
    if outcome == "remediation.refused":
        assert "--allow-public-access" in h.new_events[1]["reason"]
        assert h.new_events[1]["addresses"] == ["policy.wa-app"]


def test_a_failed_remediation_is_tried_again_at_the_next_check(estate: Estate, harness: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    h = harness(remediate=True, open_client=Failing(estate, "create_index"))
    h.check()
    assert h.types() == ["drift.detected", "remediation.failed"]
    assert h.new_events[1]["addresses"] == ["index.wa-app/faq"]
    assert "503" in h.new_events[1]["reason"]
    h.check()
    assert h.types() == ["remediation.applied"]  # the same drift: no new detection, but a retry
    assert h.check() == "in_sync" and h.types() == ["drift.resolved"]


def test_a_step_that_waits_on_a_refused_one_is_refused_too() -> None:
    target = Target("http://x", "cn-beijing", "2100000000")
    replace = Change("index.b/x", "index", Action.REPLACE, {"dimension": 4}, {"dimension": 8}, "forces")
    after = Change("index.b/y", "index", Action.CREATE, None, {"dimension": 4}, "missing",
                   depends_on=("index.b/x",))
    free = Change("index.c/z", "index", Action.CREATE, None, {"dimension": 4}, "missing")
    split = split_by_consent(Plan(target, (replace, after, free)), Consent())
    assert [c.address for c in split.runnable.changes] == ["index.c/z"]
    assert split.refused["index.b/y"] == "index.b/y: waits for index.b/x, which was refused"
    assert "--allow-destroy" in split.refused["index.b/x"]
    assert split_by_consent(Plan(target, (replace, after, free)), Consent(allow_destroy=True)).refused == {}


def test_plan_dir_saves_the_plan_of_each_detection(estate: Estate, harness: Any, tmp_path: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    h = harness(plan_dir=tmp_path / "plans")
    h.check()
    path = h.new_events[0]["plan"]
    saved = engine.load_plan(path)
    assert [c.address for c in saved.changes] == ["index.wa-app/faq"]
    h.check()
    assert len(list((tmp_path / "plans").iterdir())) == 1  # no new drift, no new plan


def test_run_helper_is_sane() -> None:
    assert run(asyncio.sleep(0, result=3)) == 3


def test_a_plan_that_cannot_be_saved_is_said_and_the_event_goes_out(estate: Estate, harness: Any,
                                                                     tmp_path: Any) -> None:
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    h = harness(plan_dir=blocked)
    assert h.check() == "drift"
    assert h.types() == ["drift.detected"] and h.new_events[0]["plan"] is None
    assert any(line.startswith("warning: the plan for this drift was not saved: ") for line in h.lines), h.lines


def test_a_plan_holding_a_secret_is_not_written(estate: Estate, harness: Any, tmp_path: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "S3cret-in-a-live-policy-0123456789"
    monkeypatch.setenv("TOS_SECRET_KEY", secret)
    estate.manifest.write_text(MANIFEST.replace("    pruneIndexes: true\n", "    pruneIndexes: true\n" + (
        "    policy: {Version: '2025-12-01', Statement: [{Effect: Allow, Principal: ['2100000000/ci-bot'], "
        "Action: ['tosvectors:GetIndex'], Resource: ['*']}]}\n")))
    estate.build()
    live = json.dumps({"Version": "2025-12-01", "Statement": [{
        "Sid": secret, "Effect": "Allow", "Principal": ["2100000000/ci-bot"], "Action": ["tosvectors:GetIndex"],
        "Resource": ["*"]}]})
    estate.call(lambda c: c.put_vector_bucket_policy("wa-app", live))
    h = harness(plan_dir=tmp_path / "plans")
    assert h.check() == "drift"
    assert h.new_events[0]["plan"] is None
    assert not list((tmp_path / "plans").glob("*"))
    assert any("holds the value of TOS_SECRET_KEY" in line for line in h.lines), h.lines
