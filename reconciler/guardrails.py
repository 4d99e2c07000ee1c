"""What apply refuses before making any call (DESIGN.md §2)."""

from __future__ import annotations

from reconciler.plan import Plan


def refusals(plan: Plan, *, allow_destroy: bool) -> list[str]:
    """One line per destroying change that may not run; empty means go ahead.

    `preventDestroy` wins over `--allow-destroy`; `destroy` passes allow_destroy=True
    and so is stopped only by `preventDestroy`."""
    out = []
    for c in plan.destroying():
        what = f"{c.address}: {c.action.value} destroys data"
        if c.holds_vectors:
            what += " (the index holds vectors)"
        if c.prevent_destroy:
            out.append(f"{what}, and it has preventDestroy: true")
        elif not allow_destroy:
            out.append(f"{what}; pass --allow-destroy to allow it")
    return out
