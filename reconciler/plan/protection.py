"""preventDestroy at plan time (README.md, "apply"), as Terraform's `lifecycle.prevent_destroy`:
a plan that would destroy a protected resource is an error, before anything is applied
or even saved.

A bucket's `preventDestroy: true` covers the bucket and every index in it, declared or
live (an index opts out with its own `preventDestroy: false`); the planner sets each
change's `prevent_destroy` from that (`plan.build`). `check_protected` raises
`ProtectedDestroyError` with one line per protected resource: its address, what destroys
it (the attribute that forces a replace, `plan --destroy`, a prune) and where the
protection is declared. The guardrails (`apply.guardrails`) refuse the same changes again
when a plan is applied, a saved one included. Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.errors import RefusedError
from reconciler.manifest import Manifest
from reconciler.plan.model import Action, Change, Plan
from reconciler.rules.kinds import INDEX, parse_address

# What people can do about it, as Terraform's message says
HINT = ("remove preventDestroy (or set preventDestroy: false on the index), or leave the resource out of the plan "
        "with --target")


class ProtectedDestroyError(RefusedError):
    """The plan would destroy resources with preventDestroy. `refused` holds one line per
    resource; `summary` is the closing line to print after them. The message itself is one
    line that says everything (every resource's line, then the summary), for a caller that
    prints only the message."""

    def __init__(self, refused: list[str], addresses: list[str]):
        self.refused = tuple(refused)
        self.addresses = tuple(addresses)
        n = len(addresses)
        self.summary = (f"{n} resource{'s' if n != 1 else ''} with preventDestroy would be destroyed; nothing was "
                        f"changed. To go on, {HINT}")
        super().__init__("; ".join(self.refused) + ("" if n == 1 else f"; {n} resources in all")
                         + f"; nothing was changed. To go on, {HINT}")


def protected_destroys(plan: Plan, manifest: Manifest | None = None) -> list[str]:
    """One line per change that destroys a resource with preventDestroy. With the
    manifest, each line says where the protection is declared."""
    return [_line(c, manifest) for c in _protected(plan)]


def check_protected(plan: Plan, manifest: Manifest | None = None) -> None:
    """Raise ProtectedDestroyError when the plan destroys a protected resource."""
    protected = _protected(plan)
    if protected:
        raise ProtectedDestroyError([_line(c, manifest) for c in protected], [c.address for c in protected])


def _protected(plan: Plan) -> list[Change]:
    return [c for c in plan.destroying() if c.prevent_destroy]


def _line(c: Change, manifest: Manifest | None) -> str:
    return f"{c.address}: cannot be destroyed: {_cause(c)}, and {_protection(c, manifest)}"


def _cause(c: Change) -> str:
    """What destroys it: for a replace, the attribute that forces it, with both values."""
    if c.action == Action.REPLACE:
        forced = [f"{a} {_value((c.before or {}).get(a))} → {_value((c.after or {}).get(a))}"
                  for a in c.forces_replacement]
        return (f"the plan replaces it ({', '.join(forced)}: fixed at creation, forces replacement)" if forced
                else "the plan replaces it")
    if c.reason_code in ("destroy", "destroy-contents"):
        return "the destroy plan deletes it"
    return f"the plan deletes it ({c.reason})"


def _protection(c: Change, manifest: Manifest | None) -> str:
    kind, bucket, name = parse_address(c.address)
    spec = manifest.bucket(bucket) if manifest is not None else None
    if spec is None:
        return "it has preventDestroy: true"
    if kind == INDEX.name:
        ispec = next((i for i in spec.indexes if i.name == name), None)
        if ispec is not None and ispec.declared_prevent_destroy:
            return f"it has preventDestroy: true ({ispec.source})"
        return f"bucket {bucket} has preventDestroy: true ({spec.source}), which covers its indexes"
    return f"it has preventDestroy: true ({spec.source})"


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict, str)) else str(v)
