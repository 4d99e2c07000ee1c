"""What apply did: one result per step, and the run's. Plain data, read by the renderers
and the commands, so that rendering an apply loads none of the executor's I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from reconciler.plan.model import Action


class Status(str, enum.Enum):
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the write may or may not have taken effect (no answer came)
    SKIPPED = "skipped"  # a dependency failed, was skipped or is unknown
    NOT_STARTED = "not started"  # interrupted before it could start


@dataclass(frozen=True)
class StepResult:
    address: str
    action: Action
    status: Status
    detail: str = ""  # the API error for failures; why, for skips; notes for successes
    seconds: float = 0.0


@dataclass(frozen=True)
class ApplyResult:
    steps: tuple[StepResult, ...]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(s.status == Status.DONE for s in self.steps)

    def count(self, status: Status) -> int:
        return sum(1 for s in self.steps if s.status == status)
