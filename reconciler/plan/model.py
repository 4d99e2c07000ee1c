"""The plan: a value describing every change `apply` will make, and nothing else.

A Plan is frozen data. It is built by `plan.build.build_plan` (pure), rendered by
`reconciler.render` (pure) and executed by `executor.execute` (the only writer).

It has two serialised forms, kept apart so that either can change without the other:
`to_dict` is the public JSON (`plan --format json`, `show --format json`, what the
renderers read), described by schemas/plan.schema.json and versioned by
PUBLIC_FORMAT_VERSION; the saved file (`plan --out`) belongs to `reconciler.plan.planfile`,
with its own schema and version.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from reconciler.rules.access import ANYONE, PUBLIC_UNKNOWN, AccessChange, new_public_statements
from reconciler.rules.kinds import KINDS, POLICY, bucket_of

# "MAJOR.MINOR": a minor version only adds fields or reason codes; a major one breaks readers.
# A string, so that a public JSON is never mistaken for a saved plan (planfile: an integer).
# 2.1: destroy, targets and partial (a --target plan), kept (in the prune scope, left alone).
PUBLIC_FORMAT_VERSION = "2.1"

# Terraform's action lists: a replace deletes first, then creates.
_ACTIONS: dict[str, tuple[str, ...]] = {
    "create": ("create",), "update": ("update",), "replace": ("delete", "create"), "delete": ("delete",),
}


class Action(str, enum.Enum):
    """What a change does; `symbol` is what people see, as in Terraform."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}[self.value]

    @property
    def steps(self) -> tuple[str, ...]:
        """The Terraform-style action list: ("delete", "create") for a replace."""
        return _ACTIONS[self.value]


@dataclass(frozen=True)
class Change:
    """One step of a plan.

    `before` / `after` are the normalised attributes of the live and desired object
    (None when absent). `reason` (English) and `reason_code` (a stable word for tools,
    e.g. "not-found", "forces-replacement", "pruned-index": see schemas/plan.schema.json)
    and `forces_replacement` exist only to explain the change; apply never reads them.
    `depends_on` holds the addresses of changes in the same plan that must finish first.
    `destroys_data` is not an input: it follows from kind and action (whatever a caller or
    a plan file passes).
    """

    address: str
    kind: str  # a name of rules.kinds.KINDS
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    destroys_data: bool = False
    holds_vectors: bool | None = None  # from a one-item ListVectors probe; None = not probed
    prevent_destroy: bool = False
    forces_replacement: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    # A policy change's access delta (access.access_delta): it explains; the public-access
    # guard recomputes it from the documents and never trusts this copy.
    access_changes: tuple[AccessChange, ...] = ()
    # why the delta is not exact: a bound hit (`access_changes` then holds at most the rows for
    # `*`), or a live policy that could not be read (the delta counts it as granting nothing)
    access_not_computed: str = ""
    reason_code: str = "unspecified"  # set by the planner beside each reason

    def __post_init__(self) -> None:
        # Safety is derived, never taken on trust: a hand-edited `false` changes nothing.
        object.__setattr__(self, "destroys_data", destroys_data(self.kind, self.action))

    @property
    def bucket(self) -> str:
        return bucket_of(self.address)

    @property
    def public(self) -> bool:
        """Whether the change grants anyone (`*`) access it did not have, or adds a statement
        whose wildcard principal reaches identities nobody named (what the guard refuses):
        the plan warns of exactly what apply will refuse."""
        if any(a.principal == ANYONE and a.change == "grant" for a in self.access_changes):
            return True
        if PUBLIC_UNKNOWN in self.access_not_computed:  # past the evaluator's bounds: apply fails safe
            return True
        if self.kind != POLICY.name or self.after is None:
            return False
        return bool(new_public_statements((self.before or {}).get("document"), self.after.get("document"),
                                          self.bucket))

    def to_dict(self) -> dict[str, Any]:
        """This change in the public JSON: a fresh copy, so no reader can alter the plan."""
        return {
            "address": self.address,
            "kind": self.kind,
            "action": self.action.value,
            "actions": list(self.action.steps),
            "before": json_copy(self.before),
            "after": json_copy(self.after),
            "reason": self.reason,
            "reason_code": self.reason_code,
            "destroys_data": self.destroys_data,
            "holds_vectors": self.holds_vectors,
            "prevent_destroy": self.prevent_destroy,
            "forces_replacement": list(self.forces_replacement),
            "depends_on": list(self.depends_on),
            **({"access_changes": [a.to_dict() for a in self.access_changes], "public": self.public}
               if self.kind == POLICY.name else {}),
            **({"access_not_computed": self.access_not_computed} if self.access_not_computed else {}),
        }


@dataclass(frozen=True)
class Kept:
    """A live resource inside the prune scope that the plan keeps, and why (a bucket
    younger than prune.olderThan)."""

    address: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"address": self.address, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Kept:
        return cls(str(d["address"]), str(d["reason"]))


@dataclass(frozen=True)
class Target:
    """Where a plan applies. Never holds credentials."""

    endpoint: str
    region: str
    account_id: str
    embedded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "account_id": self.account_id,
            "embedded": self.embedded,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Target:
        return cls(d["endpoint"], d["region"], d["account_id"], bool(d.get("embedded", False)))


@dataclass(frozen=True)
class Plan:
    """An ordered list of changes plus what is needed to apply it safely later.

    `fingerprints` maps the address of every live object the changes depend on to a
    digest of its normalised state ("absent" when it did not exist), so a saved plan
    can refuse to run against a world that moved. It is read-only (a mapping proxy over
    a private copy, sorted by address). `outside_scope` lists live resources
    seen inside the refresh that the manifest neither declares nor prunes (left alone; the
    JSON forms keep their historical key, `unmanaged`): every live bucket of the account
    the manifests do not manage, unless the plan is partial. `kept` are resources inside
    the prune scope that the plan keeps (younger than prune.olderThan).

    `destroy`: made by `plan --destroy` / `destroy`. `targets`: the --target addresses the
    plan was limited to; a plan with targets is partial (Terraform's "Resource targeting
    is in effect"): it may not show every change the manifests call for.
    """

    target: Target
    changes: tuple[Change, ...]
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    outside_scope: tuple[str, ...] = ()
    kept: tuple[Kept, ...] = ()
    # made by `destroy` / `plan --destroy`: only the words follow from it (title, summary),
    # never consent: the guardrails judge each step by its action
    destroy: bool = False
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A copy the caller cannot reach, behind a proxy nobody can assign through.
        object.__setattr__(self, "fingerprints", MappingProxyType(dict(sorted(self.fingerprints.items()))))

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def partial(self) -> bool:
        return bool(self.targets)

    def counts(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for c in self.changes:
            counts[c.action.value] += 1
        return counts

    def destroying(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if is_destroying(c))

    def with_changes(self, changes: tuple[Change, ...]) -> Plan:
        return replace(self, changes=changes)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON (schemas/plan.schema.json): a fresh copy on every call."""
        return {
            "format_version": PUBLIC_FORMAT_VERSION,
            "target": self.target.to_dict(),
            "summary": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
            "unmanaged": list(self.outside_scope),
            "kept": [k.to_dict() for k in self.kept],
            "destroy": self.destroy,
            "partial": self.partial,
            "targets": list(self.targets),
        }


_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): a quarter of copy.deepcopy's
    time, which matters when every render of a 10,000-index plan copies each attribute."""
    kind = type(value)  # exact types first: an ABC isinstance per value would double the cost
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        return {k: v if type(v) in _SCALARS else json_copy(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else json_copy(v) for v in value]
    return value


def graph_problem(changes: tuple[Change, ...] | list[Change]) -> str | None:
    """Why `depends_on` is not a DAG over these changes (a hand-edited plan file), or None."""
    counts = Counter(c.address for c in changes)
    duplicates = sorted(a for a, n in counts.items() if n > 1)
    if duplicates:
        return f"changes appear more than once: {', '.join(duplicates)}"
    dangling = sorted(f"{c.address} -> {d}" for c in changes for d in c.depends_on if d not in counts)
    if dangling:
        return f"changes depend on addresses that are not in the plan: {', '.join(dangling)}"
    try:
        topological(list(changes))
    except ValueError as e:
        return str(e)
    return None


def topological(changes: list[Change]) -> list[Change]:
    """Dependencies first, otherwise keeping the given order; ValueError on a cycle.

    In waves, as Kahn's algorithm: the changes whose dependencies are all done, in the
    given order, then those that this wave made ready. Linear in changes and edges: a
    forged 30,000-link chain in a plan file is refused in moments, not minutes."""
    dependents: dict[str, list[int]] = {}
    waiting = []
    for i, c in enumerate(changes):
        deps = set(c.depends_on)
        waiting.append(len(deps))
        for dep in deps:
            dependents.setdefault(dep, []).append(i)
    done: set[str] = set()
    out: list[Change] = []
    wave = [i for i, n in enumerate(waiting) if n == 0]
    while wave:
        # a change sharing the address of one already done is dropped, as it always was
        ready = [changes[i] for i in sorted(wave) if changes[i].address not in done]
        out += ready
        newly = {c.address for c in ready} - done
        done |= newly
        wave = []
        for address in newly:
            for j in dependents.get(address, ()):
                waiting[j] -= 1
                if waiting[j] == 0:
                    wave.append(j)
    pending = [c for c in changes if c.address not in done]
    if pending:
        raise ValueError(f"dependency cycle among {', '.join(sorted(c.address for c in pending))}")
    return out


def destroys_data(kind: str, action: Action) -> bool:
    """A replace destroys data, and so does a delete of a kind whose description says so
    (`rules.kinds.KINDS`: an index or a bucket, not a policy)."""
    described = KINDS.get(kind)
    if described is None:
        return True  # an unknown kind (a corrupt file, refused later): never counted as harmless
    return action == Action.REPLACE or (action == Action.DELETE and described.delete_destroys_data)


def is_destroying(change: Change) -> bool:
    return change.destroys_data
