"""Saved plans, version 3: they keep what a plan says about itself (partial, destroy, kept),
version 2 files still load, and in CI an unsigned file is refused (README.md, "apply")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import RefusedError
from reconciler.plan import planfile
from reconciler.plan.build import link
from reconciler.plan.model import Action, Change, Kept, Plan, Target
from reconciler.render import plan_json, plan_markdown, plan_text
from reconciler.util.ci import in_ci

KEY = b"0123456789abcdef-plan-key"
TARGET = Target("http://127.0.0.1:9", "cn-beijing", "2100000000")
IDX = {"dataType": "float32", "dimension": 4, "distanceMetric": "cosine", "nonFilterableMetadataKeys": []}
PARTIAL = "Resource targeting is in effect"


def targeted_plan() -> Plan:
    changes = link([Change("index.b/i", "index", Action.CREATE, None, IDX, "declared; does not exist",
                           reason_code="not-found")])
    return Plan(TARGET, tuple(changes), fingerprints={"bucket.b": "present", "index.b/i": "absent"},
                targets=("index.b/i",), kept=(Kept("bucket.pr-1", "young"),))


def destroy_plan() -> Plan:
    changes = link([Change("index.b/i", "index", Action.DELETE, IDX, None, "destroy: declared in the manifest",
                           reason_code="destroy"),
                    Change("bucket.b", "bucket", Action.DELETE, {"name": "b"}, None,
                           "destroy: declared in the manifest", reason_code="destroy")])
    return Plan(TARGET, tuple(changes), fingerprints={"bucket.b": "0123456789abcdef", "index.b/i": "fedcba9876543210"},
                destroy=True)


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


def test_a_partial_plan_says_so_in_its_file_and_in_every_form_show_prints(tmp_path: Path) -> None:
    path = tmp_path / "p.plan"
    planfile.save(targeted_plan(), str(path), None)
    saved = json.loads(path.read_text())
    assert saved["format_version"] == 3 and saved["targets"] == ["index.b/i"]
    assert saved["kept"] == [{"address": "bucket.pr-1", "reason": "young"}] and saved["destroy"] is False
    shown, _ = planfile.read(str(path))  # what `show` reads
    assert shown == targeted_plan() and shown.partial
    assert PARTIAL in plan_text(shown) and PARTIAL in plan_markdown(shown)
    assert json.loads(plan_json(shown))["partial"] is True


def test_a_destroy_plan_is_titled_as_one_when_shown(tmp_path: Path) -> None:
    path = tmp_path / "p.plan"
    planfile.save(destroy_plan(), str(path), None)
    shown, _ = planfile.read(str(path))
    assert shown.destroy
    assert plan_text(shown).startswith("reconciler destroy plan for ")
    assert plan_markdown(shown).startswith("### reconciler destroy plan\n")


def test_a_version_2_file_still_loads(tmp_path: Path) -> None:
    for plan in (targeted_plan(), destroy_plan()):
        data = planfile.to_saved(plan)
        for key in ("kept", "destroy", "targets"):
            del data[key]
        data["format_version"] = 2
        path = tmp_path / "v2.plan"
        path.write_text(json.dumps(data, indent=2) + "\n")
        back, warning = planfile.read(str(path), verify=True)
        assert warning is not None and back.changes == plan.changes and back.fingerprints == plan.fingerprints
        assert (back.targets, back.kept) == ((), ())
        assert back.destroy is plan.destroy  # a version 2 destroy plan is known by its reasons
    data = planfile.to_saved(targeted_plan())
    del data["targets"]  # version 3 must say it
    path.write_text(json.dumps(data))
    with pytest.raises(Exception, match="'targets' is a required property"):
        planfile.read(str(path))


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_in_ci_an_unsigned_plan_file_is_refused_in_one_line_naming_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    path = tmp_path / "p.plan"
    planfile.save(destroy_plan(), str(path), None)
    with pytest.raises(RefusedError) as e:
        planfile.read(str(path), key=None, verify=True)
    assert "RECONCILER_PLAN_KEY" in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith(f"{path} is not signed, and CI is set")
    planfile.read(str(path))  # showing it needs no signature
    planfile.save(destroy_plan(), str(path), KEY)  # a signed one applies
    assert planfile.read(str(path), key=KEY, verify=True)[1] is None


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("false", False), ("FALSE", False),
                                                  (" ", False), ("true", True), ("1", True), ("yes", True)])
def test_in_ci(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected
    assert in_ci({}) is False
