"""Fixtures for the renderer tests; the values themselves live in render_samples.py."""

from __future__ import annotations

from typing import Any

import pytest
from render_samples import (
    applied_failed,
    applied_interrupted,
    applied_ok,
    create_plan,
    destroy_plan,
    empty_drift,
    empty_plan,
    mixed_drift,
    mixed_plan,
    nightly_drift,
    nightly_plan,
    partial_plan,
    public_plan,
)

from reconciler.apply.result import ApplyResult


@pytest.fixture
def samples() -> dict[str, Any]:
    return {
        "create": create_plan(), "mixed": mixed_plan(), "empty": empty_plan(), "public": public_plan(),
        "drift": mixed_drift(), "drift_empty": empty_drift(),
        "partial": partial_plan(), "destroy": destroy_plan(), "nightly": nightly_plan(),
        "drift_nightly": nightly_drift(),
        "apply_ok": applied_ok(), "apply_failed": applied_failed(), "apply_interrupted": applied_interrupted(),
        "apply_empty": ApplyResult(()),
    }
