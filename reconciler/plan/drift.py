"""Drift: what a plan against the live state says about managed resources. Pure.

Each drift item has a status (`DriftItem.status`, `"kind"` in the JSON of
`schemas/drift.schema.json`, kept for compatibility; not to be confused with a resource
kind). Three count as drift: a managed resource that differs from its declaration
(`changed`), one that is declared but missing (`missing`), and a live resource inside the
manifest's prune scope that it does not declare (`unmanaged`: the plan deletes it).
Resources seen outside the scope (`Plan.outside_scope`: neither declared nor pruned,
so left alone; every live bucket of the account the manifests do not manage) are
`outside_scope` here too, listed for information; they never count. Nor do the buckets
inside the prune scope that prune.olderThan keeps (`kept`, as in the plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.model import Action, Kept, Plan, Target
from reconciler.rules.access import AccessChange
from reconciler.rules.kinds import POLICY, parse_address

# "MAJOR.MINOR", as every JSON output (the plan's, access's, output's): 2.0 since it was the
# integer 1 (a reader comparing with 1 must notice); it added `kept`.
FORMAT_VERSION = "2.0"
STATUSES = ("changed", "missing", "unmanaged")


@dataclass(frozen=True)
class DriftItem:
    address: str
    status: str  # one of STATUSES
    detail: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    access_changes: tuple[AccessChange, ...] = ()  # a policy's: what applying the manifest grants / revokes
    access_not_computed: str = ""  # why the delta was not computed (Change.access_not_computed)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "kind": self.status, "detail": self.detail,
               "before": self.before, "after": self.after}
        if parse_address(self.address)[0] == POLICY.name:
            out["access_changes"] = [a.to_dict() for a in self.access_changes]
        if self.access_not_computed:
            out["access_not_computed"] = self.access_not_computed
        return out


@dataclass(frozen=True)
class DriftReport:
    target: Target
    items: tuple[DriftItem, ...]
    outside_scope: tuple[str, ...]
    kept: tuple[Kept, ...] = ()

    @property
    def in_sync(self) -> bool:
        return not self.items

    def with_status(self, status: str) -> tuple[DriftItem, ...]:
        return tuple(i for i in self.items if i.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "target": self.target.to_dict(),
            "in_sync": self.in_sync,
            "summary": {s: len(self.with_status(s)) for s in STATUSES},
            "items": [i.to_dict() for i in self.items],
            "outside_scope": list(self.outside_scope),
            "kept": [k.to_dict() for k in self.kept],
        }


_STATUS = {Action.UPDATE: "changed", Action.REPLACE: "changed", Action.CREATE: "missing", Action.DELETE: "unmanaged"}


def drift_report(plan: Plan) -> DriftReport:
    items = tuple(DriftItem(c.address, _STATUS[c.action], c.reason, c.before, c.after, c.access_changes,
                            c.access_not_computed)
                  for c in plan.changes)
    return DriftReport(plan.target, items, plan.outside_scope, plan.kept)
