"""Text from a plan file, a live policy or a server's error reaches a reviewer's terminal:
every human renderer shows control characters and bidi overrides escaped (`\\u001b`,
`\\u202e`, as JSON spells them), never raw, so that a forged field cannot clear the screen, set the clipboard
(OSC 52), overwrite a line (CR) or make text read backwards. JSON output stays exact."""

from __future__ import annotations

import json

import pytest
from render_samples import RES, TARGET, change

from reconciler.apply.result import Status, StepResult
from reconciler.plan.drift import drift_report
from reconciler.plan.model import Action, Plan
from reconciler.render import (
    apply_aborted,
    drift_markdown,
    drift_text,
    plan_json,
    plan_markdown,
    plan_text,
    step_line,
)
from reconciler.util.text import cut, printable, printable_json

HOSTILE = "ok\x1b[2J\x1b]52;c;ZWNobw==\x07\rFAKE\u202e\x9b\x7f\u2066"
RAW = set("\x1b\x07\r\u202e\x9b\x7f\u2066")


def _raw(text: str) -> set[str]:
    return {c for c in text if c in RAW}


def _policy_doc(sid: str) -> dict[str, object]:
    return {"document": {"Version": "2025-12-01", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Principal": ["2100000001"], "Action": ["tosvectors:GetVectors"],
         "Resource": [RES.format("rag-dev")]}]}}


def _hostile_plan() -> Plan:
    return Plan(TARGET, (
        change("index.rag-dev/docs-v1", Action.CREATE, None, {"dimension": 4, "note" + HOSTILE: HOSTILE},
               "declared" + HOSTILE),
        change("policy.rag-dev", Action.UPDATE, _policy_doc("live" + HOSTILE), _policy_doc("new"), "differs"),
    ), {}, ("bucket.x" + HOSTILE,))


@pytest.mark.parametrize("render", [plan_text, plan_markdown], ids=["text", "markdown"])
def test_plan_renderers_escape_what_a_terminal_would_act_on(render: object) -> None:
    out = render(_hostile_plan())  # type: ignore[operator]
    assert not _raw(out)
    assert "\\u001b" in out and "\\u202e" in out  # shown, not hidden: the reviewer sees something is there


def test_a_hostile_reason_reads_as_its_escapes_in_text() -> None:
    assert "  # reason: declared" + printable(HOSTILE) + "\n" in plan_text(_hostile_plan())


def test_the_policy_diff_shows_a_hostile_sid_as_json_escapes() -> None:
    out = plan_text(_hostile_plan())
    diff = [line for line in out.splitlines() if '"Sid"' in line]
    assert diff and not _raw("\n".join(diff))
    # the live Sid as JSON would spell it: the C0 controls by json, the rest alike
    assert any('"live' + "ok\\u001b[2J" in line and "\\u202e\\u009b\\u007f\\u2066" in line for line in diff)


def test_drift_renderers_escape_too() -> None:
    report = drift_report(_hostile_plan())
    for out in (drift_text(report), drift_markdown(report)):
        assert not _raw(out)


def test_apply_step_lines_escape_an_address_or_error_from_the_service() -> None:
    step = StepResult("index.b/i" + HOSTILE, Action.CREATE, Status.FAILED, "CreateIndex: 400 " + HOSTILE, 0.1)
    line = step_line(step)
    assert not _raw(line) and "\\u001b[2J" in line
    aborted = apply_aborted([], ["index.b/i" + HOSTILE], 1)
    assert not _raw(aborted)


def test_json_output_keeps_the_exact_text() -> None:
    doc = json.loads(plan_json(_hostile_plan()))
    assert doc["changes"][0]["reason"] == "declared" + HOSTILE


def test_printable_escapes_controls_and_bidi_but_keeps_ordinary_text() -> None:
    assert printable("rag-dev é 中文 *") == "rag-dev é 中文 *"
    assert printable("a\x1bb\rc\u202ed\x85") == "a\\u001bb\\u000dc\\u202ed\\u0085"
    assert printable("one\ntwo\t", newlines=True) == "one\ntwo\\u0009"
    assert printable("one\ntwo") == "one\\u000atwo"
    assert printable("tag\U000e0041") == "tag\\udb40\\udc41"  # as JSON spells it
    text = json.dumps({"s": "x\x1b\u202e\x7f"}, ensure_ascii=False)
    assert json.loads(printable_json(text)) == {"s": "x\x1b\u202e\x7f"}  # the same JSON, escaped


def test_cut_keeps_short_values_and_shortens_long_ones_with_their_length() -> None:
    assert cut("docs-v1") == "docs-v1"
    assert cut("a" * 64) == "a" * 64
    assert cut("a" * 5_000_000) == "a" * 64 + "…(5,000,000 chars)"
