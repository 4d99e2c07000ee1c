"""Apply results for people and CI logs: one plain-word line per step, then the verdict.

Status words (`done`, `failed`, `unknown`, `skipped`, `not started`) carry the meaning, so
a log without colour, or one that mangles non-ASCII symbols, reads the same. `unknown` is
a write that got no answer: it may or may not have taken effect, so the verdict says to
run plan instead of calling it failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.render._common import BOLD, DIM, GREEN, RED, YELLOW, Paint
from reconciler.util.text import printable

if TYPE_CHECKING:
    from reconciler.apply.result import ApplyResult, StepResult

_STATUSES = ("done", "failed", "unknown", "skipped", "not started")
_COLOR = {"done": GREEN, "failed": RED, "unknown": YELLOW, "skipped": YELLOW, "not started": DIM}
_WIDTH = max(len(s) for s in _STATUSES)


def step_line(step: StepResult, *, color: bool = False) -> str:
    """`failed      -/+ index.b/i (1.50s): <error>`, one line as each step finishes (no newline)."""
    paint = Paint(color)
    status = step.status.value
    symbol = step.action.symbol
    pad = " " * (_WIDTH - len(status))
    line = f"{paint(status, _COLOR[status], BOLD)}{pad} {symbol.rjust(3)} {paint(printable(step.address), BOLD)}"
    if status in ("done", "failed", "unknown"):
        line += f" ({step.seconds:.2f}s)"
    if step.detail:
        # keep one step on one line even when an error message spans several
        line += ": " + printable(" ".join(step.detail.split()))
    return line


def apply_verdict(result: ApplyResult, *, color: bool = False, destroy: bool = False) -> str:
    """`Apply complete|incomplete|failed|interrupted: N done, N failed, [N unknown, ]N skipped,
    N not started.`, and a second line saying what to do when some steps are unknown; for
    `destroy`: `Destroy complete: N destroyed, ...`."""
    paint = Paint(color)
    counts = {s: sum(1 for step in result.steps if step.status.value == s) for s in _STATUSES}
    verb = "Destroy" if destroy else "Apply"
    if result.interrupted:
        verdict, tint = f"{verb} interrupted", RED
    elif counts["failed"] == 0 and counts["unknown"] > 0:
        verdict, tint = f"{verb} incomplete", YELLOW  # nothing known to have failed, but not known to be done
    elif counts["done"] < len(result.steps):
        verdict, tint = f"{verb} failed", RED
    else:
        verdict, tint = f"{verb} complete", GREEN
    tally = _tally(counts, destroy=destroy)
    line = paint(f"{verdict}: {tally}.", tint, BOLD)
    unknown = counts["unknown"]
    if unknown:
        them = "it" if unknown == 1 else "they"
        line += (f"\n{unknown} {'step' if unknown == 1 else 'steps'} timed out or lost the connection, so "
                 f"{them} may or may not have taken effect: run `reconciler plan` to see where things stand.")
    return line


def _tally(counts: dict[str, int], *, destroy: bool = False) -> str:
    """`N done, N failed, N skipped, ...` (`N destroyed` for destroy); `N unknown` only when
    there are some (it is rare, and logs and scripts have read the other words for a long time)."""
    return ", ".join(f"{n} {'destroyed' if destroy and s == 'done' else s}"
                     for s, n in counts.items() if s != "unknown" or n)


def apply_aborted(finished: Sequence[StepResult], in_flight: Sequence[str], total: int, *,
                  color: bool = False) -> str:
    """After a second Ctrl-C: the tally, and the steps whose requests were abandoned."""
    paint = Paint(color)
    counts = {s: sum(1 for step in finished if step.status.value == s) for s in _STATUSES[:4]}
    tally = _tally(counts)
    not_started = total - len(finished) - len(in_flight)
    lines = [paint(f"Apply aborted: {tally}, {len(in_flight)} in flight, {not_started} not started.", RED, BOLD)]
    if in_flight:
        lines.append("In flight when aborted, so they may or may not have taken effect: "
                     f"{printable(', '.join(in_flight))}.")
    lines.append("Run `reconciler plan` to see where things stand.")
    return "\n".join(lines)
