"""Renderers: pure functions from a plan, drift report or apply result to text.

No I/O and no global state: colour is a parameter (the CLI decides it from the TTY
and NO_COLOR). Plan renderers read only the plan's stable JSON form.
"""

from reconciler.render.apply import apply_summary, apply_verdict, step_line
from reconciler.render.drift import drift_markdown, drift_text
from reconciler.render.graph import graph_dot, graph_mermaid
from reconciler.render.jsonplan import drift_json, plan_json
from reconciler.render.markdown import plan_markdown
from reconciler.render.text import plan_text

__all__ = [
    "apply_summary",
    "apply_verdict",
    "drift_json",
    "drift_markdown",
    "drift_text",
    "graph_dot",
    "graph_mermaid",
    "plan_json",
    "plan_markdown",
    "plan_text",
    "step_line",
]
