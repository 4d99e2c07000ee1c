"""What apply refuses before making any call (README.md, "How it works").

Consent is a value the caller states (the CLI from its flags); whether a change needs it
is decided here from the plan itself: `Change.destroys_data` follows from kind and action,
so neither a caller nor a plan file can declare a destroying step harmless.
`engine.apply_plan` runs `check` before the first call, for every caller.

preventDestroy is an error already when the plan is made (`plan.protection`, re-exported
here: `check_protected`, `protected_destroys`); `check` refuses the same changes again, for
a saved plan too, where the file's `prevent_destroy` can only add a refusal, never lift one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.errors import RefusedError
from reconciler.plan.model import Plan
from reconciler.plan.protection import ProtectedDestroyError, check_protected, protected_destroys
from reconciler.rules.access import (
    ANYONE,
    AccessDeltaNotComputed,
    access_delta,
    grants_public,
    new_public_statements,
    resource_label,
    too_big,
)
from reconciler.rules.kinds import INDEX, POLICY, parse_address

__all__ = ["CHECKS", "Consent", "GuardrailRefused", "ProtectedDestroyError", "check", "check_protected",
           "destroy_refusals", "protected_destroys", "public_refusals", "refusals", "refused_steps"]


@dataclass(frozen=True)
class Consent:
    """What the person running the command agreed to.

    `destroy_verb`: the `destroy` command, which exists to delete, so counts as consent to
    destroy data; `preventDestroy: true` refuses even then."""

    allow_destroy: bool = False
    allow_public_access: bool = False
    destroy_verb: bool = False
    # buckets whose manifest declares `allowPublicAccess: true`; None for a saved plan, which
    # has no manifest to verify it against, so its public changes need allow_public_access
    public_buckets: frozenset[str] | None = None


class GuardrailRefused(RefusedError):
    """Steps the consent does not cover; `refused` holds one line per step, and the message
    counts them by kind ("1 destroying change and 1 public change refused; ...")."""

    def __init__(self, refused: list[str], kinds: dict[str, int] | None = None):
        self.refused = tuple(refused)
        counts = [f"{n} {kind} change{'s' if n != 1 else ''}" for kind, n in (kinds or {}).items() if n]
        if not counts:
            counts = [f"{len(refused)} change{'s' if len(refused) != 1 else ''}"]
        super().__init__(f"{' and '.join(counts)} refused; nothing was changed")


def destroy_refusals(plan: Plan, consent: Consent) -> list[str]:
    """One line per destroying change that may not run. `preventDestroy` wins over
    `--allow-destroy` (in a saved plan it can only add a refusal, never lift one)."""
    return [line for _, line in _destroys_refused(plan, consent)]


def _destroys_refused(plan: Plan, consent: Consent) -> list[tuple[str, str]]:
    out = []
    for c in plan.destroying():
        what = f"{c.address}: {c.action.value} destroys data"
        if c.holds_vectors:
            what += " (the index holds vectors)"
        if c.prevent_destroy:
            out.append((c.address, f"{what}, and it has preventDestroy: true"))
        elif not (consent.allow_destroy or consent.destroy_verb):
            out.append((c.address, f"{what}; pass --allow-destroy to allow it"))
    return out


def public_refusals(plan: Plan, consent: Consent) -> list[str]:
    """One line per policy change that would grant anyone (`*`) access and may not run.

    Whether a change is public is derived here, from its documents (the plan's own
    `access_changes` and `public` are never trusted, so a hand-edited saved plan cannot
    hide a grant). `buckets_allowing` are the buckets whose manifest declares
    `allowPublicAccess: true`; None means a saved plan, which has no manifest to verify
    and so needs --allow-public-access whatever the file says."""
    return [line for _, line in _opens_refused(plan, consent)]


def _opens_refused(plan: Plan, consent: Consent) -> list[tuple[str, str]]:
    if consent.allow_public_access:
        return []
    buckets_allowing = consent.public_buckets
    out = []
    for c in plan.changes:
        if c.kind != POLICY.name or c.bucket in (buckets_allowing or ()):
            continue
        before, after = _document(c.before), _document(c.after)
        # every index the file names can only widen what is checked, never narrow it
        indexes = {parse_address(o.address)[2] or "" for o in plan.changes
                   if o.kind == INDEX.name and o.bucket == c.bucket}
        indexes |= {a.resource.partition("/index/")[2] for a in c.access_changes if "/index/" in a.resource}
        region, account = plan.target.region, plan.target.account_id
        if not grants_public(before, after, region, account, c.bucket, indexes):
            continue
        opened: dict[str, list[str]] = {}
        huge = too_big(before) or too_big(after)  # a forged document: named by statement only
        unknown = ""
        try:
            delta = [] if huge else access_delta(before, after, region, account, c.bucket, indexes)
        except AccessDeltaNotComputed as e:  # refused all the same (grants_public failed safe)
            delta, unknown = list(e.anyone or ()), "" if e.anyone is not None else e.reason
        for a in delta:
            if a.principal == ANYONE and a.change == "grant":
                opened.setdefault(a.action, []).append(resource_label(a.resource))
        shown = "; ".join(f"{action} on {', '.join(where)}" for action, where in list(opened.items())[:3])
        more = f"; and {len(opened) - 3} more actions" if len(opened) > 3 else ""
        new = new_public_statements(before, after, c.bucket)
        if not opened and new:  # e.g. a wildcard principal (`?*`): it matches accounts nobody named
            shown = ", ".join(f"Statement[{i}]" for i in new[:3]) + " allows a principal nobody named"
        what = f" ({shown}{more})" if opened or new else ""
        if unknown and not what:  # the evaluator could not rule it out: consent, rather than a guess
            what = " (it could not be ruled out: the access delta was not computed)"
        how = ("a saved plan needs it, whatever its manifest declared" if buckets_allowing is None
               else f"or declare allowPublicAccess: true on bucket {c.bucket}")
        out.append((c.address, f"{c.address}: grants anyone (*) access{what}; pass --allow-public-access ({how})"))
    return out


def _document(attrs: dict[str, Any] | None) -> dict[str, Any] | None:
    doc = (attrs or {}).get("document")
    return doc if isinstance(doc, dict) else None


# Each kind of refusal is one function (plan, consent) -> (address, line) per refused change,
# all decided from the plan's own kinds, actions and documents; the name is how the summary
# line counts them.
CHECKS: tuple[tuple[str, Callable[[Plan, Consent], list[tuple[str, str]]]], ...] = (
    ("destroying", _destroys_refused), ("public", _opens_refused))


def refusals(plan: Plan, consent: Consent) -> list[str]:
    return [line for _, check in CHECKS for _, line in check(plan, consent)]


def refused_steps(plan: Plan, consent: Consent) -> dict[str, str]:
    """Each refused change's address -> why (its lines joined), for running the rest."""
    out: dict[str, str] = {}
    for _, check in CHECKS:
        for address, line in check(plan, consent):
            out[address] = f"{out[address]}; {line}" if address in out else line
    return out


def check(plan: Plan, consent: Consent) -> None:
    """Raise GuardrailRefused listing every step the consent does not cover."""
    found = {kind: [line for _, line in check(plan, consent)] for kind, check in CHECKS}
    refused = [line for lines in found.values() for line in lines]
    if refused:
        raise GuardrailRefused(refused, {kind: len(lines) for kind, lines in found.items()})
