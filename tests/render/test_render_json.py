"""The JSON forms: schema-valid, lossless, and the schemas reject what is not a plan."""

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

from reconciler.drift import drift_report
from reconciler.manifest import BucketSpec, IndexSpec, Manifest, Source
from reconciler.plan import Plan, Target
from reconciler.planner import PlanOptions, build_plan, with_vector_probe
from reconciler.render import drift_json, plan_json
from reconciler.state import LiveBucket, LiveIndex, LiveState

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
    plan = build_plan(manifest, live, Target("https://e.example", "cn-beijing", "2100000000"),
                      PlanOptions(destroy=destroy))
    return with_vector_probe(plan, {("rag-prod", "docs-v1"): True, ("rag-prod", "scratch"): False})


PLANS: dict[str, Callable[[], Plan]] = {"mixed": mixed_plan, "create": create_plan, "empty": empty_plan,
                                        "planner": planner_plan, "public": public_plan,
                                        "planner-destroy": lambda: planner_plan(destroy=True)}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_json_is_schema_valid_and_round_trips(name: str) -> None:
    plan = PLANS[name]()
    text = plan_json(plan)
    assert text.endswith("}\n")
    data = json.loads(text)
    PLAN_SCHEMA.validate(data)
    assert Plan.from_dict(data) == plan
    assert plan_json(Plan.from_dict(data)) == text


def test_planner_plan_exercises_every_action() -> None:
    plan = planner_plan()
    assert {a for a, n in plan.counts().items() if n} == {"create", "update", "replace", "delete"}
    assert plan.unmanaged == ("bucket.analytics",)


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
    lambda d: d.update(format_version=2),
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
    """The planner's own golden plans are real plans: the schema must accept every one."""
    data = json.loads(path.read_text(encoding="utf-8"))
    PLAN_SCHEMA.validate(data)
    assert Plan.from_dict(data).to_dict() == data
