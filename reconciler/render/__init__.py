"""Renderers: pure functions from a plan, drift report or apply result to text.

No I/O and no global state: colour is a parameter (the CLI decides it from the TTY
and NO_COLOR). Plan renderers read only the plan's stable JSON form.

Each renderer's module loads when the renderer is first used: a run needs one or two.

Owns: every view of a plan, a drift report, an apply result and an access matrix.
May import: plan, apply (its result data only), state (its pure model), rules, util.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_MODULE_OF = {
    "apply_aborted": "apply",
    "apply_verdict": "apply",
    "step_line": "apply",
    "drift_markdown": "drift",
    "drift_text": "drift",
    "graph_dot": "graph",
    "graph_mermaid": "graph",
    "drift_json": "jsonplan",
    "plan_json": "jsonplan",
    "plan_markdown": "markdown",
    "plan_text": "text",
}

__all__ = sorted(_MODULE_OF)

if TYPE_CHECKING:
    from reconciler.render.apply import apply_aborted, apply_verdict, step_line
    from reconciler.render.drift import drift_markdown, drift_text
    from reconciler.render.graph import graph_dot, graph_mermaid
    from reconciler.render.jsonplan import drift_json, plan_json
    from reconciler.render.markdown import plan_markdown
    from reconciler.render.text import plan_text


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler.render' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"reconciler.render.{module}"), name)
    globals()[name] = value
    return value
