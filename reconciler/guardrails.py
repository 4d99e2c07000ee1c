"""What apply refuses before making any call (DESIGN.md §2)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from reconciler.access import ANYONE, access_delta, grants_public, resource_label
from reconciler.plan import Plan, parse_address


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


def public_refusals(plan: Plan, allow_public_access: bool,
                    buckets_allowing: Collection[str] | None = None) -> list[str]:
    """One line per policy change that would grant anyone (`*`) access and may not run.

    Whether a change is public is derived here, from its documents (the plan's own
    `access_changes` and `public` are never trusted, so a hand-edited saved plan cannot
    hide a grant). `buckets_allowing` are the buckets whose manifest declares
    `allowPublicAccess: true`; None means a saved plan, which has no manifest to verify
    and so needs --allow-public-access whatever the file says."""
    if allow_public_access:
        return []
    out = []
    for c in plan.changes:
        if c.kind != "policy" or c.bucket in (buckets_allowing or ()):
            continue
        before, after = _document(c.before), _document(c.after)
        # every index the file names can only widen what is checked, never narrow it
        indexes = {parse_address(o.address)[2] or "" for o in plan.changes
                   if o.kind == "index" and o.bucket == c.bucket}
        indexes |= {a.resource.partition("/index/")[2] for a in c.access_changes if "/index/" in a.resource}
        region, account = plan.target.region, plan.target.account_id
        if not grants_public(before, after, region, account, c.bucket, indexes):
            continue
        opened: dict[str, list[str]] = {}
        for a in access_delta(before, after, region, account, c.bucket, indexes):
            if a.principal == ANYONE and a.change == "grant":
                opened.setdefault(a.action, []).append(resource_label(a.resource))
        shown = "; ".join(f"{action} on {', '.join(where)}" for action, where in list(opened.items())[:3])
        more = f"; and {len(opened) - 3} more actions" if len(opened) > 3 else ""
        what = f" ({shown}{more})" if opened else ""
        how = ("a saved plan needs it, whatever its manifest declared" if buckets_allowing is None
               else f"or declare allowPublicAccess: true on bucket {c.bucket}")
        out.append(f"{c.address}: grants anyone (*) access{what}; pass --allow-public-access ({how})")
    return out


def _document(attrs: dict[str, Any] | None) -> dict[str, Any] | None:
    doc = (attrs or {}).get("document")
    return doc if isinstance(doc, dict) else None
