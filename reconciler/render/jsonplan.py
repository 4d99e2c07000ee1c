"""The stable public machine forms: schemas/plan.schema.json and schemas/drift.schema.json."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.plan.drift import DriftReport
    from reconciler.plan.model import Plan


def plan_json(plan: Plan) -> str:
    """The public JSON (`plan --format json`, schemas/plan.schema.json), ASCII so that any
    encoding reads it; not the saved form of `plan --out` (reconciler.plan.planfile)."""
    return json.dumps(plan.to_dict(), indent=2, sort_keys=False) + "\n"


def drift_json(report: DriftReport) -> str:
    """The drift report in the form schemas/drift.schema.json describes."""
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"
