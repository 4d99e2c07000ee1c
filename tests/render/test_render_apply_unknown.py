"""A write that got no answer renders as `unknown`, and the verdict says to run plan."""

from __future__ import annotations

from reconciler.apply.result import ApplyResult, Status, StepResult
from reconciler.plan.model import Action
from reconciler.render import apply_aborted, apply_verdict, step_line

DETAIL = ("CreateIndex: timed out waiting for app-2100000000.127.0.0.1 via http://127.0.0.1:8765 (ReadTimeout) "
          "(after 6 attempts): an attempt got no answer, so it may or may not have taken effect; "
          "run `reconciler plan` to see")


def unknown(address: str) -> StepResult:
    return StepResult(address, Action.CREATE, Status.UNKNOWN, DETAIL, 12.5)


def test_unknown_step_line() -> None:
    assert step_line(unknown("index.app/docs")) == f"unknown       + index.app/docs (12.50s): {DETAIL}"


def test_only_unknown_steps_left_is_incomplete_with_advice() -> None:
    result = ApplyResult((
        StepResult("bucket.app", Action.CREATE, Status.DONE, "", 0.1),
        unknown("index.app/docs"), unknown("index.app/faq"),
        StepResult("policy.app", Action.CREATE, Status.SKIPPED, "index.app/docs may or may not have taken effect"),
    ))
    assert apply_verdict(result).splitlines() == [
        "Apply incomplete: 1 done, 0 failed, 2 unknown, 1 skipped, 0 not started.",
        "2 steps timed out or lost the connection, so they may or may not have taken effect: "
        "run `reconciler plan` to see where things stand.",
    ]
    assert step_line(result.steps[1]) == f"unknown       + index.app/docs (12.50s): {DETAIL}"


def test_failed_and_unknown_is_failed() -> None:
    result = ApplyResult((unknown("index.app/docs"),
                          StepResult("index.app/faq", Action.CREATE, Status.FAILED, "CreateIndex: 400 ...", 0.1)))
    assert apply_verdict(result).splitlines() == [
        "Apply failed: 0 done, 1 failed, 1 unknown, 0 skipped, 0 not started.",
        "1 step timed out or lost the connection, so it may or may not have taken effect: "
        "run `reconciler plan` to see where things stand.",
    ]


def test_no_unknown_no_new_words() -> None:
    ok = ApplyResult((StepResult("bucket.app", Action.CREATE, Status.DONE, "", 0.1),))
    assert apply_verdict(ok) == "Apply complete: 1 done, 0 failed, 0 skipped, 0 not started."
    assert apply_aborted([unknown("index.app/docs")], [], total=2).splitlines()[0] == (
        "Apply aborted: 0 done, 0 failed, 1 unknown, 0 skipped, 0 in flight, 1 not started.")


def test_unknown_is_coloured_like_a_warning() -> None:
    assert step_line(unknown("index.app/docs"), color=True).startswith("\x1b[33;1munknown\x1b[0m")
