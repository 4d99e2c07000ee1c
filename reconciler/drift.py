"""Drift: what a plan against the live state says about managed resources. Pure.

Three kinds count as drift: a managed resource that differs from its declaration
(`changed`), one that is declared but missing (`missing`), and a live resource inside
the manifest's prune scope that it does not declare (`unmanaged`). Resources seen
outside the scope are listed for information and never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.access import AccessChange
from reconciler.plan import Action, Plan, Target

FORMAT_VERSION = 1


@dataclass(frozen=True)
class DriftItem:
    address: str
    kind: str  # "changed" | "missing" | "unmanaged"
    detail: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    access_changes: tuple[AccessChange, ...] = ()  # a policy's: what applying the manifest grants / revokes

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "kind": self.kind, "detail": self.detail,
               "before": self.before, "after": self.after}
        if self.address.startswith("policy."):
            out["access_changes"] = [a.to_dict() for a in self.access_changes]
        return out


@dataclass(frozen=True)
class DriftReport:
    target: Target
    items: tuple[DriftItem, ...]
    outside_scope: tuple[str, ...]

    @property
    def in_sync(self) -> bool:
        return not self.items

    def of_kind(self, kind: str) -> tuple[DriftItem, ...]:
        return tuple(i for i in self.items if i.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "target": self.target.to_dict(),
            "in_sync": self.in_sync,
            "summary": {k: len(self.of_kind(k)) for k in ("changed", "missing", "unmanaged")},
            "items": [i.to_dict() for i in self.items],
            "outside_scope": list(self.outside_scope),
        }


_KIND = {Action.UPDATE: "changed", Action.REPLACE: "changed", Action.CREATE: "missing", Action.DELETE: "unmanaged"}


def drift_report(plan: Plan) -> DriftReport:
    items = tuple(DriftItem(c.address, _KIND[c.action], c.reason, c.before, c.after, c.access_changes)
                  for c in plan.changes)
    return DriftReport(plan.target, items, plan.unmanaged)
