"""Plan semantics of issues 17 and 18: preventDestroy covers a bucket's indexes and is an
error at plan time; every live bucket nobody manages is listed; prune.olderThan keeps
young buckets; a --target plan says it is partial; words that tell the truth."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import guardrails
from reconciler.apply.guardrails import Consent, GuardrailRefused
from reconciler.client import VectorsClient
from reconciler.errors import ManifestError
from reconciler.manifest import Manifest, load_manifests
from reconciler.plan.build import PlanOptions, build_plan
from reconciler.plan.drift import drift_report
from reconciler.plan.model import Action, Plan, Target
from reconciler.plan.protection import ProtectedDestroyError, check_protected, protected_destroys
from reconciler.state.model import LiveBucket, LiveIndex, LiveState
from reconciler.state.refresh import refresh
from tests.support.embedded import embedded_transport

TARGET = Target("https://tosvectors-cn-beijing.volces.com", "cn-beijing", "2100000000")
DAY = 86400


def manifest(tmp_path: Path, text: str) -> Manifest:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_manifests([str(path)], {}, environ={})


def attrs(dim: int) -> dict[str, Any]:
    return {"dataType": "float32", "dimension": dim, "distanceMetric": "cosine", "nonFilterableMetadataKeys": []}


def live(*buckets: tuple[str, dict[str, int]], created: dict[str, int] | None = None) -> LiveState:
    state = LiveState(listed=tuple(sorted(b for b, _ in buckets)), created=created or {})
    for name, indexes in buckets:
        state.buckets[name] = LiveBucket(name, {i: LiveIndex(name, i, attrs(d)) for i, d in indexes.items()}, None)
    return state


PROD = """\
version: 1
buckets:
  - name: prod
    preventDestroy: true
    pruneIndexes: true
    indexes:
      - name: docs
        dimension: 1024
        distanceMetric: cosine
"""


# --- 1. preventDestroy ----------------------------------------------------------------------


def test_a_bucket_protects_its_indexes_and_replacing_one_is_an_error_at_plan_time(tmp_path: Path) -> None:
    m = manifest(tmp_path, PROD)
    with pytest.raises(ProtectedDestroyError) as e:
        build_plan(m, live(("prod", {"docs": 768, "old": 8})), TARGET)
    assert [line.split(": cannot", 1)[0] for line in e.value.refused] == ["index.prod/docs", "index.prod/old"]
    docs = e.value.refused[0]
    assert "dimension 768 → 1024: fixed at creation, forces replacement" in docs  # the attribute that forces it
    assert f"bucket prod has preventDestroy: true ({tmp_path / 'm.yaml'}:3:5), which covers its indexes" in docs
    assert "not declared; bucket 'prod' has pruneIndexes: true" in e.value.refused[1]
    assert "\n" not in str(e.value) and str(e.value).startswith("; ".join(e.value.refused) + "; 2 resources in all")
    assert "nothing was changed" in str(e.value)
    assert e.value.summary.startswith("2 resources with preventDestroy would be destroyed; nothing was changed. ")


def test_an_index_opts_out_of_its_buckets_protection_with_its_own_false(tmp_path: Path) -> None:
    m = manifest(tmp_path, PROD.replace("distanceMetric: cosine\n", "distanceMetric: cosine\n"
                                        "        preventDestroy: false\n"))
    plan = build_plan(m, live(("prod", {"docs": 768})), TARGET)
    assert [(c.address, c.action, c.prevent_destroy) for c in plan.changes] == [
        ("index.prod/docs", Action.REPLACE, False)]


def test_plan_destroy_of_a_protected_bucket_is_an_error_and_names_every_resource(tmp_path: Path) -> None:
    m = manifest(tmp_path, PROD.replace("dimension: 1024", "dimension: 768"))
    with pytest.raises(ProtectedDestroyError) as e:
        build_plan(m, live(("prod", {"docs": 768, "scratch": 8})), TARGET, PlanOptions(destroy=True))
    assert e.value.addresses == ("index.prod/docs", "index.prod/scratch", "bucket.prod")
    assert all("the destroy plan deletes it" in line for line in e.value.refused)


def test_the_drift_report_shows_a_protected_replace_as_drift(tmp_path: Path) -> None:
    plan = build_plan(manifest(tmp_path, PROD), live(("prod", {"docs": 768})), TARGET, PlanOptions(refresh_only=True))
    report = drift_report(plan)
    assert [(i.address, i.status) for i in report.items] == [("index.prod/docs", "changed")]
    assert protected_destroys(plan) == [
        "index.prod/docs: cannot be destroyed: the plan replaces it (dimension 768 → 1024: fixed at creation, "
        "forces replacement), and it has preventDestroy: true"]
    with pytest.raises(ProtectedDestroyError):
        check_protected(plan)


def test_target_can_leave_the_protected_change_out_as_in_terraform(tmp_path: Path) -> None:
    m = manifest(tmp_path, PROD.replace("    pruneIndexes: true\n", "").replace(
        "distanceMetric: cosine\n", "distanceMetric: cosine\n      - name: faq\n        dimension: 8\n"
                                    "        distanceMetric: cosine\n"))
    plan = build_plan(m, live(("prod", {"docs": 768})), TARGET, PlanOptions(targets=("index.prod/faq",)))
    assert [c.address for c in plan.changes] == ["index.prod/faq"]


def test_apply_still_refuses_a_protected_step_whatever_the_consent(tmp_path: Path) -> None:
    plan = build_plan(manifest(tmp_path, PROD), live(("prod", {"docs": 768})), TARGET, PlanOptions(refresh_only=True))
    for consent in (Consent(allow_destroy=True), Consent(destroy_verb=True)):
        with pytest.raises(GuardrailRefused) as e:
            guardrails.check(plan, consent)
        assert e.value.refused == ("index.prod/docs: replace destroys data, and it has preventDestroy: true",)
    assert guardrails.check_protected is check_protected  # one rule, importable where apply looks


# --- 2. visibility ---------------------------------------------------------------------------


class CountingClient:
    """A client for the in-process emulator that counts ListVectorBuckets passes."""

    def __init__(self, client: VectorsClient) -> None:
        self._client = client
        self.listed = 0

    async def all_vector_buckets(self, *, prefix: str | None = None) -> Any:
        self.listed += 1
        return await self._client.all_vector_buckets(prefix=prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _refresh(tmp_path: Path, m: Manifest, only: set[str] | None = None) -> tuple[LiveState, int]:
    async def go() -> tuple[LiveState, int]:
        async with VectorsClient(endpoint="http://127.0.0.1", account_id="2100000000",
                                 transport=embedded_transport(tmp_path / "data")) as client:
            for name in ("rag-prod", "rag-old"):
                try:
                    await client.create_vector_bucket(name)
                except Exception:  # noqa: BLE001 - made by an earlier call of this test
                    pass
            counting = CountingClient(client)
            state = await refresh(counting, m, only_buckets=only)  # type: ignore[arg-type]
            return state, counting.listed

    return asyncio.run(go())


def test_a_removed_bucket_block_is_listed_as_not_managed_after_one_list(tmp_path: Path) -> None:
    m = manifest(tmp_path, "version: 1\nbuckets:\n  - name: rag-prod\n")  # rag-old's block was removed
    state, lists = _refresh(tmp_path, m)
    assert lists == 1 and state.listed == ("rag-old", "rag-prod") and set(state.created) == {"rag-old", "rag-prod"}
    plan = build_plan(m, state, TARGET)
    assert plan.is_empty and plan.outside_scope == ("bucket.rag-old",)
    assert plan.to_dict()["unmanaged"] == ["bucket.rag-old"]
    assert drift_report(plan).to_dict()["outside_scope"] == ["bucket.rag-old"]
    # --target needs no list: the plan says it is partial instead
    state, lists = _refresh(tmp_path, m, only={"rag-prod"})
    assert lists == 0 and state.listed is None


# --- 3. prune.olderThan ----------------------------------------------------------------------

NIGHTLY = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 7d\nbuckets: []\n'


def test_older_than_prunes_old_buckets_and_keeps_young_ones_saying_why(tmp_path: Path) -> None:
    now = 2_000_000_000
    state = live(("pr-1", {"docs": 8}), ("pr-2", {}), ("pr-3", {}), ("other", {}),
                 created={"pr-1": now - 8 * DAY, "pr-2": now - 3 * DAY - 7200, "pr-3": 0, "other": now - 99 * DAY})
    plan = build_plan(manifest(tmp_path, NIGHTLY), state, TARGET, PlanOptions(now=now))
    assert [(c.address, c.action) for c in plan.changes] == [("index.pr-1/docs", Action.DELETE),
                                                              ("bucket.pr-1", Action.DELETE)]
    assert plan.changes[1].reason == "not declared; matches prune pattern 'pr-*' and is older than 7d"
    assert [(k.address, k.reason) for k in plan.kept] == [
        ("bucket.pr-2", "matches prune pattern 'pr-*', but it was created 3d 2h ago, less than prune.olderThan (7d)"),
        ("bucket.pr-3", "matches prune pattern 'pr-*', but its creation time is unknown, and prune.olderThan is 7d")]
    assert plan.outside_scope == ("bucket.other",)
    assert drift_report(plan).kept == plan.kept  # kept is not drift
    assert [i.address for i in drift_report(plan).items] == ["index.pr-1/docs", "bucket.pr-1"]


def test_without_now_the_clock_counts(tmp_path: Path) -> None:
    state = live(("pr-1", {}), created={"pr-1": int(time.time()) - 60})
    assert build_plan(manifest(tmp_path, NIGHTLY), state, TARGET).kept[0].address == "bucket.pr-1"


@pytest.mark.parametrize(("value", "message"), [
    ("7x", "olderThan: '7x' is not valid: A duration: a whole number and one of s, m, h, d (30m, 12h, 7d)"),
    ("0d", "olderThan: '0d' is not valid"),
    ("7", "olderThan: '7' is not valid"),
    ("1.5h", "olderThan: '1.5h' is not valid"),
])
def test_a_bad_duration_is_one_line_at_its_position(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ManifestError) as e:
        manifest(tmp_path, NIGHTLY.replace("7d", value))
    assert [str(d) for d in e.value.diagnostics] == [f"{tmp_path / 'm.yaml'}:4:14: {message}"] or \
        str(e.value.diagnostics[0]).startswith(f"{tmp_path / 'm.yaml'}:4:14: {message}")
    assert len(e.value.diagnostics) == 1


def test_durations_and_a_conflict_between_files(tmp_path: Path) -> None:
    for text, seconds in (("30m", 1800), ("12h", 43200), ("7d", 604800), ("45s", 45)):
        m = manifest(tmp_path, NIGHTLY.replace("7d", text))
        assert m.prune_older_than is not None and (m.prune_older_than.text, m.prune_older_than.seconds) == (
            text, seconds)
    (tmp_path / "a.yaml").write_text(NIGHTLY)
    (tmp_path / "b.yaml").write_text(NIGHTLY.replace("7d", "1d"))
    with pytest.raises(ManifestError, match=r"b.yaml:4:14: prune.olderThan '1d' conflicts with prune.olderThan "
                                            r"'7d' at .*a.yaml:4:14"):
        load_manifests([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")], {}, environ={})


# --- 4. partial plans ------------------------------------------------------------------------


def test_a_target_plan_is_partial_and_says_so_in_its_json(tmp_path: Path) -> None:
    m = manifest(tmp_path, "version: 1\nbuckets:\n  - name: app\n  - name: web\n")
    plan = build_plan(m, LiveState(absent={"app", "web"}), TARGET, PlanOptions(targets=("bucket.app",)))
    assert plan.partial and plan.targets == ("bucket.app",)
    assert {k: plan.to_dict()[k] for k in ("partial", "targets", "destroy")} == {
        "partial": True, "targets": ["bucket.app"], "destroy": False}
    full = build_plan(m, LiveState(absent={"app", "web"}), TARGET)
    assert not full.partial and full.to_dict()["partial"] is False


# --- 5. words ----------------------------------------------------------------------------------


def test_a_destroy_plan_knows_it_is_one_and_gives_true_reasons(tmp_path: Path) -> None:
    m = manifest(tmp_path, "version: 1\nbuckets:\n  - name: app\n    pruneIndexes: true\n    indexes:\n"
                           "      - {name: docs, dimension: 8, distanceMetric: cosine}\n")
    state = live(("app", {"docs": 8, "made-by-hand": 8}))
    state.buckets["app"] = LiveBucket("app", state.buckets["app"].indexes, {"Version": "2025-12-01", "Statement": []})
    plan = build_plan(m, state, TARGET, PlanOptions(destroy=True))
    assert plan.destroy and plan.to_dict()["destroy"] is True
    reasons = {c.address: (c.reason, c.reason_code) for c in plan.changes}
    assert reasons == {
        "policy.app": ("destroy: not declared; deleted with bucket 'app'", "destroy-contents"),
        "index.app/docs": ("destroy: declared in the manifest", "destroy"),
        "index.app/made-by-hand": ("destroy: not declared; in bucket 'app', which is destroyed (pruneIndexes: true)",
                                   "destroy-contents"),
        "bucket.app": ("destroy: declared in the manifest", "destroy"),
    }


# --- 6. kinds from their description ----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2] / "reconciler"


@pytest.mark.parametrize("module", ["plan/model.py", "plan/planfile.py", "plan/drift.py", "apply/guardrails.py",
                                    "apply/executor.py", "plan/protection.py"])
def test_kinds_are_read_from_their_description_not_spelled(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    spelled = [(n.lineno, n.value) for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and n.value in ("bucket", "index", "policy", "policy.")]
    assert spelled == []


def test_plan_is_frozen_data_with_its_new_fields() -> None:
    plan = Plan(TARGET, ())
    assert (plan.kept, plan.destroy, plan.targets, plan.partial) == ((), False, (), False)


def test_older_than_without_buckets_is_a_warning(tmp_path: Path) -> None:
    m = manifest(tmp_path, "version: 1\nprune:\n  olderThan: 7d\nbuckets: []\n")
    assert [str(w) for w in m.warnings] == [
        f"{tmp_path / 'm.yaml'}:3:14: warning: prune.olderThan limits prune.buckets, and no prune.buckets is given: "
        "it prunes nothing"]


def test_every_json_output_has_a_major_minor_string_version() -> None:
    import json as _json

    from reconciler.plan.drift import DriftReport
    from reconciler.plan.model import PUBLIC_FORMAT_VERSION
    from reconciler.render.access import access_json
    from reconciler.render.jsonplan import drift_json, plan_json

    versions = [_json.loads(access_json([], "2100000000", "cn-beijing"))["format_version"],
                _json.loads(drift_json(DriftReport(TARGET, (), ())))["format_version"],
                _json.loads(plan_json(Plan(TARGET, ())))["format_version"]]
    assert versions == ["2.0", "2.0", PUBLIC_FORMAT_VERSION] and PUBLIC_FORMAT_VERSION == "2.1"
