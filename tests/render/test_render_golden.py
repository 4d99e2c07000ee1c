"""Golden files for every renderer. `UPDATE_GOLDEN=1 pytest tests/render` rewrites them
on purpose; read the diff (and the files) before committing."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from render_samples import apply_summary

from reconciler.render import (
    drift_json,
    drift_markdown,
    drift_text,
    graph_dot,
    graph_mermaid,
    plan_json,
    plan_markdown,
    plan_text,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

CASES: dict[str, Callable[[dict[str, Any]], str]] = {
    "plan_mixed.txt": lambda s: plan_text(s["mixed"]),
    "plan_mixed.color.txt": lambda s: plan_text(s["mixed"], color=True),
    "plan_create.txt": lambda s: plan_text(s["create"]),
    "plan_empty.txt": lambda s: plan_text(s["empty"]),
    "plan_mixed.md": lambda s: plan_markdown(s["mixed"]),
    "plan_create.md": lambda s: plan_markdown(s["create"]),
    "plan_empty.md": lambda s: plan_markdown(s["empty"]),
    "plan_mixed.json": lambda s: plan_json(s["mixed"]),
    "plan_empty.json": lambda s: plan_json(s["empty"]),
    "plan_public.txt": lambda s: plan_text(s["public"]),
    "plan_public.color.txt": lambda s: plan_text(s["public"], color=True),
    "plan_public.md": lambda s: plan_markdown(s["public"]),
    "plan_public.json": lambda s: plan_json(s["public"]),
    "plan_partial.txt": lambda s: plan_text(s["partial"]),
    "plan_partial.md": lambda s: plan_markdown(s["partial"]),
    "plan_partial.json": lambda s: plan_json(s["partial"]),
    "plan_destroy.txt": lambda s: plan_text(s["destroy"]),
    "plan_destroy.md": lambda s: plan_markdown(s["destroy"]),
    "plan_nightly.txt": lambda s: plan_text(s["nightly"]),
    "plan_nightly.md": lambda s: plan_markdown(s["nightly"]),
    "plan_nightly.json": lambda s: plan_json(s["nightly"]),
    "drift_nightly.txt": lambda s: drift_text(s["drift_nightly"]),
    "drift_nightly.md": lambda s: drift_markdown(s["drift_nightly"]),
    "drift_nightly.json": lambda s: drift_json(s["drift_nightly"]),
    "drift_mixed.txt": lambda s: drift_text(s["drift"]),
    "drift_mixed.color.txt": lambda s: drift_text(s["drift"], color=True),
    "drift_empty.txt": lambda s: drift_text(s["drift_empty"]),
    "drift_mixed.md": lambda s: drift_markdown(s["drift"]),
    "drift_empty.md": lambda s: drift_markdown(s["drift_empty"]),
    "drift_mixed.json": lambda s: drift_json(s["drift"]),
    "apply_ok.txt": lambda s: apply_summary(s["apply_ok"]),
    "apply_failed.txt": lambda s: apply_summary(s["apply_failed"]),
    "apply_failed.color.txt": lambda s: apply_summary(s["apply_failed"], color=True),
    "apply_interrupted.txt": lambda s: apply_summary(s["apply_interrupted"]),
    "apply_empty.txt": lambda s: apply_summary(s["apply_empty"]),
    "graph_mixed.mmd": lambda s: graph_mermaid(s["mixed"]),
    "graph_mixed.dot": lambda s: graph_dot(s["mixed"]),
    "graph_empty.mmd": lambda s: graph_mermaid(s["empty"]),
    "graph_empty.dot": lambda s: graph_dot(s["empty"]),
}


def _visible(text: str) -> list[str]:
    return text.replace("\x1b", "␛").splitlines(keepends=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, samples: dict[str, Any]) -> None:
    actual = CASES[name](samples)
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(actual.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; create it with UPDATE_GOLDEN=1 pytest tests/render")
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(_visible(expected), _visible(actual), f"golden/{name}", "rendered"))
        pytest.fail(f"rendered output differs from golden/{name} (UPDATE_GOLDEN=1 rewrites it):\n{diff}",
                    pytrace=False)


def test_every_golden_file_has_a_case() -> None:
    """A stale golden file (its case renamed or removed) is an error, not dead weight."""
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(CASES)
