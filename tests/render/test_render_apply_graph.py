"""apply_summary / step_line, the graphs, and the package's public surface."""

from __future__ import annotations

import re

import pytest
from render_samples import (
    TARGET,
    applied_failed,
    applied_interrupted,
    applied_ok,
    apply_summary,
    big_plan,
    change,
    mixed_plan,
)

from reconciler import render
from reconciler.apply.result import ApplyResult, Status, StepResult
from reconciler.plan.model import Action, Plan
from reconciler.render import apply_aborted, graph_dot, graph_mermaid, step_line

CLOSING = re.compile(r"^Apply (complete|failed|interrupted): (\d+) done, (\d+) failed, (\d+) skipped, "
                     r"(\d+) not started\.$")


# --- apply ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("result, verdict", [(applied_ok(), "complete"), (applied_failed(), "failed"),
                                             (applied_interrupted(), "interrupted"), (ApplyResult(()), "complete")],
                         ids=["ok", "failed", "interrupted", "empty"])
def test_apply_summary_closing_line(result: ApplyResult, verdict: str) -> None:
    text = apply_summary(result)
    assert "\x1b" not in text
    lines = text.rstrip("\n").splitlines()
    m = CLOSING.match(lines[-1])
    assert m, lines[-1]
    assert m.group(1) == verdict
    assert [int(n) for n in m.groups()[1:]] == [result.count(s) for s in Status if s is not Status.UNKNOWN]
    assert lines[:len(result.steps)] == [step_line(s) for s in result.steps]


def test_aborted_apply_names_what_was_in_flight() -> None:
    finished = applied_failed().steps  # 2 done, 1 failed, 1 skipped
    text = apply_aborted(finished, ["index.b/a", "index.b/b"], total=len(finished) + 5)
    assert text.splitlines() == [
        "Apply aborted: 2 done, 1 failed, 1 skipped, 2 in flight, 3 not started.",
        "In flight when aborted, so they may or may not have taken effect: index.b/a, index.b/b.",
        "Run `reconciler plan` to see where things stand.",
    ]
    assert apply_aborted([], [], total=4).splitlines()[0] == (
        "Apply aborted: 0 done, 0 failed, 0 skipped, 0 in flight, 4 not started.")
    assert "In flight" not in apply_aborted([], [], total=4)


def test_step_lines_use_plain_words_and_details() -> None:
    lines = [step_line(s) for s in applied_failed().steps]
    assert lines[0].startswith("done ") and lines[0].endswith("(0.12s): already gone")
    assert lines[1].startswith("failed ") and "409 ConflictException" in lines[1]
    assert lines[2].startswith("skipped ") and lines[2].endswith(": index.rag-tmp/old was failed")
    assert step_line(applied_interrupted().steps[1]).startswith("not started ")
    assert all(line.isascii() for line in lines)  # no symbols a CI log could mangle
    # the address column lines up whatever the status word
    assert len({line.index(" - ") for line in lines[:3]}) == 1


def test_step_line_keeps_a_multiline_error_on_one_line() -> None:
    step = StepResult("index.b1/i1", Action.DELETE, Status.FAILED, "DeleteIndex failed:\n  503 ServiceUnavailable\n")
    line = step_line(step)
    assert "\n" not in line and line.endswith("DeleteIndex failed: 503 ServiceUnavailable")


def test_step_line_colour() -> None:
    step = applied_failed().steps[1]
    coloured = step_line(step, color=True)
    assert "\x1b[31" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == step_line(step)


# --- graphs --------------------------------------------------------------------------------------


def _mermaid_nodes(text: str) -> dict[str, str]:
    return dict(re.findall(r'^  ([A-Za-z0-9_]+)\["([^"]*)"\]', text, re.MULTILINE))


@pytest.mark.parametrize("plan", [mixed_plan(), big_plan(200)], ids=["mixed", "big"])
def test_mermaid_has_every_node_and_edge(plan: Plan) -> None:
    text = graph_mermaid(plan)
    assert text.splitlines()[0] == "flowchart LR"
    nodes = _mermaid_nodes(text)
    by_address = {label.split(" ", 1)[1]: node for node, label in nodes.items()}
    assert sorted(by_address) == sorted(c.address for c in plan.changes)
    for c in plan.changes:
        assert nodes[by_address[c.address]] == f"{c.action.symbol} {c.address}"
    edges = set(re.findall(r"^  (\w+) --> (\w+)$", text, re.MULTILINE))
    want = {(by_address[d], by_address[c.address]) for c in plan.changes for d in c.depends_on}
    assert edges == want
    assert text.count("[") == text.count("]") and text.count('"') % 2 == 0


def test_mermaid_ids_are_sanitised_and_unique() -> None:
    plan = Plan(TARGET, (change("index.b1/a-b", Action.CREATE, None, None, "r"),
                         change("index.b1/a_b", Action.CREATE, None, None, "r"),
                         change("index.b1.a/b", Action.CREATE, None, None, "r", depends_on=("index.b1/a-b",))))
    nodes = _mermaid_nodes(graph_mermaid(plan))
    assert len(nodes) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", n) for n in nodes)


def test_dot_is_well_formed_with_every_edge() -> None:
    plan = mixed_plan()
    text = graph_dot(plan)
    lines = text.rstrip("\n").splitlines()
    assert lines[0] == "digraph plan {" and lines[-1] == "}"
    assert text.count("{") == text.count("}") == 1
    quoted = r'"(?:[^"\\]|\\.)*"'
    for line in lines[1:-1]:
        assert re.fullmatch(rf"  (rankdir=LR|node \[.*\]|{quoted}( -> {quoted})?( \[.*\])?);", line), line
    edges = set(re.findall(r'^  "([^"]+)" -> "([^"]+)";$', text, re.MULTILINE))
    assert edges == {(d, c.address) for c in plan.changes for d in c.depends_on}
    assert len(re.findall(r"^  \"[^\"]+\" \[label=", text, re.MULTILINE)) == len(plan.changes)


def test_empty_plan_graphs_are_valid() -> None:
    empty = Plan(TARGET, ())
    assert graph_mermaid(empty) == 'flowchart LR\n  empty["No changes"]\n'
    dot = graph_dot(empty)
    assert dot.startswith("digraph plan {\n") and dot.endswith("}\n") and "No changes" in dot


# --- the package ---------------------------------------------------------------------------------


def test_public_names() -> None:
    assert sorted(render.__all__) == sorted([
        "apply_aborted", "apply_verdict", "drift_json", "drift_markdown", "drift_text", "graph_dot", "graph_mermaid",
        "plan_json", "plan_markdown", "plan_text", "step_line"])
    assert all(callable(getattr(render, name)) for name in render.__all__)

