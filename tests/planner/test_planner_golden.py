"""Table-driven planner tests: each case folder holds desired.yaml, live.json and the
expected plan.json. `UPDATE_GOLDEN=1 pytest tests/planner` rewrites plan.json on purpose.

live.json: {"buckets": {NAME: {"indexes": {INDEX: ATTRS | null}, "policy": DOC | null}},
            "absent": [NAME...], "listed": [NAME...] | null, "created": {NAME: UNIX_SECONDS}}
cases may also carry options.json: {"destroy": bool, "targets": [ADDR...], "now": UNIX_SECONDS}.
A case whose plan is an error (preventDestroy) holds error.txt instead of plan.json: the
error's lines, one per protected resource.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.manifest import load_manifests
from reconciler.plan.build import PlanOptions, build_plan
from reconciler.plan.model import Plan, Target
from reconciler.plan.planfile import from_saved, to_saved
from reconciler.plan.protection import ProtectedDestroyError
from reconciler.state.model import LiveBucket, LiveIndex, LiveState

CASES = Path(__file__).parent / "cases"
TARGET = Target("https://tosvectors-cn-beijing.volces.com", "cn-beijing", "2100000000")


def load_live(path: Path) -> LiveState:
    data = json.loads(path.read_text())
    state = LiveState(absent=set(data.get("absent", [])),
                      listed=tuple(data["listed"]) if data.get("listed") is not None else None,
                      created=dict(data.get("created", {})))
    for name, b in data.get("buckets", {}).items():
        indexes = {i: LiveIndex(name, i, attrs) for i, attrs in b.get("indexes", {}).items()}
        policy = b.get("policy")
        state.buckets[name] = LiveBucket(name, indexes, policy, json.dumps(policy) if policy is not None else None)
    return state


def plan_for(case: Path) -> Plan:
    manifest = load_manifests([str(case / "desired.yaml")], {}, environ={})
    opts_file = case / "options.json"
    opts = json.loads(opts_file.read_text()) if opts_file.exists() else {}
    options = PlanOptions(destroy=opts.get("destroy", False), targets=tuple(opts.get("targets", ())),
                          now=opts.get("now"))
    return build_plan(manifest, load_live(case / "live.json"), TARGET, options)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_planner_case(case: str) -> None:
    folder = CASES / case
    if (folder / "error.txt").exists():
        with pytest.raises(ProtectedDestroyError) as e:
            plan_for(folder)
        lines = [line.replace(f"{folder}{os.sep}", "") for line in e.value.refused]  # positions: file:line:col
        if os.environ.get("UPDATE_GOLDEN"):
            (folder / "error.txt").write_text("".join(line + "\n" for line in lines))
        assert lines == (folder / "error.txt").read_text().splitlines()
        return
    got = plan_for(folder).to_dict()
    expected_file = folder / "plan.json"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert expected_file.exists(), f"{expected_file} missing: run with UPDATE_GOLDEN=1 and review it"
    assert got == json.loads(expected_file.read_text())
    # the plan is data: it survives its saved form without loss
    plan = plan_for(folder)
    assert from_saved(json.loads(json.dumps(to_saved(plan)))) == plan
