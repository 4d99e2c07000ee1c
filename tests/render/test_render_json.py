"""The public JSON forms: schema-valid, stable in shape, copies of the plan (never a way to
change it), and the schemas reject what is not a plan."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from render_samples import big_plan, create_plan, empty_drift, empty_plan, mixed_drift, mixed_plan, public_plan

from reconciler.manifest import BucketSpec, IndexSpec, Manifest, Source
from reconciler.plan.build import PlanOptions, build_plan, with_vector_probe
from reconciler.plan.drift import drift_report
from reconciler.plan.model import PUBLIC_FORMAT_VERSION, Plan, Target
from reconciler.render import drift_json, plan_json, plan_text
from reconciler.state.model import LiveBucket, LiveIndex, LiveState

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


PLAN_SCHEMA = _validator("plan.schema.json")
DRIFT_SCHEMA = _validator("drift.schema.json")


def planner_plan(destroy: bool = False) -> Plan:
    """A plan made by the real planner from a manifest and a live state."""
    src = Source("rag.yaml", 1, 1)
    doc = {"Version": "2025-12-01", "Statement": {"Effect": "allow", "Principal": "2100000001/ci-bot",
                                                   "Action": "tosvectors:QueryVectors", "Resource": "*"}}

    def ispec(bucket: str, name: str, dim: int, prevent: bool = False) -> IndexSpec:
        return IndexSpec(bucket, name, dim, "cosine", "float32", frozenset({"body"}), prevent, src)

    manifest = Manifest(None, None, ("rag-*",), (
        BucketSpec("rag-dev", False, False, doc, (ispec("rag-dev", "docs-v1", 768),), src),
        BucketSpec("rag-prod", True, True, doc,
                   (ispec("rag-prod", "docs-v1", 1024, prevent=True), ispec("rag-prod", "new", 64)), src),
    ), ("rag.yaml",), ())

    def live_index(bucket: str, name: str, dim: int) -> LiveIndex:
        return LiveIndex(bucket, name, {"dataType": "float32", "dimension": dim, "distanceMetric": "cosine",
                                        "nonFilterableMetadataKeys": ["body"]})

    live = LiveState(
        buckets={
            "rag-prod": LiveBucket("rag-prod", {"docs-v1": live_index("rag-prod", "docs-v1", 768),
                                                "scratch": live_index("rag-prod", "scratch", 8)},
                                   {"Version": "2025-12-01", "Statement": []}),
            "rag-tmp": LiveBucket("rag-tmp", {"old": live_index("rag-tmp", "old", 8)}, {"Version": "1"}),
        },
        absent={"rag-dev"}, listed=("analytics", "rag-prod", "rag-tmp"))
    # refresh_only: the plan destroys protected indexes, which planning refuses; the renderers
    # still show such changes (a drift report, a saved plan of an older version)
    plan = build_plan(manifest, live, Target("https://e.example", "cn-beijing", "2100000000"),
                      PlanOptions(destroy=destroy, refresh_only=True))
    return with_vector_probe(plan, {("rag-prod", "docs-v1"): True, ("rag-prod", "scratch"): False})


PLANS: dict[str, Callable[[], Plan]] = {"mixed": mixed_plan, "create": create_plan, "empty": empty_plan,
                                        "planner": planner_plan, "public": public_plan,
                                        "planner-destroy": lambda: planner_plan(destroy=True)}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_json_is_schema_valid_with_action_lists_and_reason_codes(name: str) -> None:
    plan = PLANS[name]()
    text = plan_json(plan)
    assert text.endswith("}\n")
    data = json.loads(text)
    PLAN_SCHEMA.validate(data)
    assert data["format_version"] == PUBLIC_FORMAT_VERSION == "2.1"
    assert "fingerprints" not in data and "signature" not in data  # the saved form's business
    want = {"create": ["create"], "update": ["update"], "replace": ["delete", "create"], "delete": ["delete"]}
    for c, d in zip(plan.changes, data["changes"], strict=True):
        assert d["address"] == c.address and d["before"] == c.before and d["after"] == c.after
        assert d["actions"] == want[d["action"]] and d["action"] == c.action.value
        assert d["reason"] == c.reason and d["reason_code"] == c.reason_code


def test_the_planner_gives_every_reason_a_code() -> None:
    codes = {c.address: c.reason_code for c in planner_plan().changes}
    assert codes == {
        "bucket.rag-dev": "not-found", "index.rag-dev/docs-v1": "not-found", "policy.rag-dev": "not-found",
        "index.rag-prod/docs-v1": "forces-replacement", "index.rag-prod/new": "not-found",
        "index.rag-prod/scratch": "pruned-index", "policy.rag-prod": "policy-changed",
        "policy.rag-tmp": "pruned-bucket", "index.rag-tmp/old": "pruned-bucket", "bucket.rag-tmp": "pruned-bucket",
    }
    # what destroy takes without the manifest declaring it says so (pruneIndexes: true)
    destroy = {c.address: c.reason_code for c in planner_plan(destroy=True).changes}
    assert destroy == {"policy.rag-prod": "destroy", "index.rag-prod/docs-v1": "destroy",
                       "index.rag-prod/scratch": "destroy-contents", "bucket.rag-prod": "destroy"}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_reader_of_the_json_form_cannot_change_the_plan(name: str) -> None:
    """A renderer (or any caller) gets copies: mutating them leaves the frozen plan as it was."""
    plan = PLANS[name]()
    before_json, before_text = plan_json(plan), plan_text(plan)
    doc = plan.to_dict()
    for c in doc["changes"]:
        for side in (c["before"], c["after"]):
            if isinstance(side, dict):
                side.clear()
                side["planted"] = True
        c["depends_on"].append("bucket.planted")
        c["actions"].append("planted")
        for a in c.get("access_changes", []):
            a["principal"] = "planted"
    doc["changes"].append({"address": "bucket.planted"})
    doc["unmanaged"].append("bucket.planted")
    doc["target"]["endpoint"] = "http://planted"
    assert plan_json(plan) == before_json and plan_text(plan) == before_text
    assert plan == PLANS[name]()


def test_fingerprints_cannot_be_assigned_and_do_not_follow_the_callers_dict() -> None:
    given = {"bucket.b": "absent"}
    plan = Plan(Target("https://e.example", "cn-beijing", "2100000000"), (), fingerprints=given)
    with pytest.raises(TypeError):
        plan.fingerprints["bucket.b"] = "present"  # type: ignore[index]
    with pytest.raises(TypeError):
        del plan.fingerprints["bucket.b"]  # type: ignore[attr-defined]
    given["bucket.b"] = "present"
    given["bucket.c"] = "absent"
    assert dict(plan.fingerprints) == {"bucket.b": "absent"}
    assert plan == Plan(plan.target, (), fingerprints={"bucket.b": "absent"})
    assert plan != Plan(plan.target, (), fingerprints={"bucket.b": "present"})


def test_planner_plan_exercises_every_action() -> None:
    plan = planner_plan()
    assert {a for a, n in plan.counts().items() if n} == {"create", "update", "replace", "delete"}
    assert plan.outside_scope == ("bucket.analytics",)


def test_big_plan_is_schema_valid() -> None:
    PLAN_SCHEMA.validate(json.loads(plan_json(big_plan(200))))


GOLDEN_JSON = Path(__file__).parent / "golden_json"


@pytest.mark.parametrize("name", ["planner", "planner-destroy"])
def test_plan_json_is_the_documented_form(name: str) -> None:
    """The real planner's plan, as `plan --format json` prints it: valid against the published
    schema and byte for byte the reviewed file (UPDATE_GOLDEN=1 rewrites it on purpose)."""
    text = plan_json(PLANS[name]())
    PLAN_SCHEMA.validate(json.loads(text))
    path = GOLDEN_JSON / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"plan JSON differs from {path.name}"


def _broken(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(mixed_plan().to_dict())
    mutate(data)
    return data


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(format_version=2),  # the saved form's kind of version
    lambda d: d.update(format_version="1.0"),
    lambda d: d.update(fingerprints={}),  # only in the saved form
    lambda d: d["changes"][0].update(actions=["replace"]),
    lambda d: d["changes"][1].update(actions=["create", "delete"]),  # a replace deletes first
    lambda d: d["changes"][0].pop("actions"),
    lambda d: d["changes"][0].pop("reason_code"),
    lambda d: d["changes"][0].update(reason_code="Not Found"),
    lambda d: d.update(extra=True),
    lambda d: d["target"].update(secret_key="x"),
    lambda d: d["changes"][0].update(action="upsert"),
    lambda d: d["changes"][0].update(before={"name": "rag-dev"}),  # a create has no before
    lambda d: d["changes"][1].update(after=None),  # a replace has an after
    lambda d: d["changes"][1]["after"].update(dimension="1024"),
    lambda d: d["changes"][1]["after"].pop("distanceMetric"),
    lambda d: d["changes"][0].update(address="bucket.a/b"),
    lambda d: d["changes"][0].update(kind="index"),  # kind must match the address
    lambda d: d["changes"][0].pop("depends_on"),
    lambda d: d["summary"].update(create=-1),
    lambda d: d["unmanaged"].append("nonsense"),
    lambda d: d["changes"][3]["access_changes"][0].update(change="widen"),
    lambda d: d["changes"][3]["access_changes"][0].update(resource="bucket/rag-tmp"),
    lambda d: d["changes"][3]["access_changes"][0].pop("principal"),
    lambda d: d["changes"][3].update(public="yes"),
], ids=lambda f: "")
def test_plan_schema_rejects(mutate: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        PLAN_SCHEMA.validate(_broken(mutate))


@pytest.mark.parametrize("report", [mixed_drift(), empty_drift(), drift_report(planner_plan())],
                         ids=["mixed", "empty", "planner"])
def test_drift_json_is_schema_valid(report: Any) -> None:
    data = json.loads(drift_json(report))
    DRIFT_SCHEMA.validate(data)
    assert data == report.to_dict()


def test_drift_schema_rejects_a_missing_item_with_a_live_side() -> None:
    data = mixed_drift().to_dict()
    item = next(i for i in data["items"] if i["kind"] == "missing")
    item["before"] = {"name": "x"}
    with pytest.raises(jsonschema.ValidationError):
        DRIFT_SCHEMA.validate(data)


PLANNER_CASES = sorted((Path(__file__).resolve().parents[1] / "planner" / "cases").glob("*/plan.json"))


@pytest.mark.parametrize("path", PLANNER_CASES, ids=[p.parent.name for p in PLANNER_CASES])
def test_planner_golden_plans_are_schema_valid(path: Path) -> None:
    """The planner's own golden plans are its public JSON: the schema must accept every one."""
    data = json.loads(path.read_text(encoding="utf-8"))
    PLAN_SCHEMA.validate(data)
    assert all(c["reason_code"] != "unspecified" for c in data["changes"])
