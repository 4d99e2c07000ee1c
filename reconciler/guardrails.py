"""What apply refuses before making any call (DESIGN.md §2).

Consent is a value the caller states (the CLI from its flags); whether a change needs it
is decided here from the plan itself: `Change.destroys_data` follows from kind and action,
so neither a caller nor a plan file can declare a destroying step harmless.
`engine.apply_plan` runs `check` before the first call, for every caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.errors import RefusedError
from reconciler.plan import Plan


@dataclass(frozen=True)
class Consent:
    """What the person running the command agreed to.

    `destroy_verb`: the `destroy` command, which exists to delete, so counts as consent to
    destroy data; `preventDestroy: true` refuses even then."""

    allow_destroy: bool = False
    allow_public_access: bool = False
    destroy_verb: bool = False


class GuardrailRefused(RefusedError):
    """Steps the consent does not cover; `refused` holds one line per step."""

    def __init__(self, refused: list[str]):
        self.refused = tuple(refused)
        n = len(refused)
        super().__init__(f"{n} change{'s' if n != 1 else ''} refused; nothing was changed")


def destroy_refusals(plan: Plan, consent: Consent) -> list[str]:
    """One line per destroying change that may not run. `preventDestroy` wins over
    `--allow-destroy` (in a saved plan it can only add a refusal, never lift one)."""
    out = []
    for c in plan.destroying():
        what = f"{c.address}: {c.action.value} destroys data"
        if c.holds_vectors:
            what += " (the index holds vectors)"
        if c.prevent_destroy:
            out.append(f"{what}, and it has preventDestroy: true")
        elif not (consent.allow_destroy or consent.destroy_verb):
            out.append(f"{what}; pass --allow-destroy to allow it")
    return out


# Each kind of refusal is one function (plan, consent) -> lines. A change granting access
# to `*` (DESIGN.md §2, `--allow-public-access`) is the second kind; it goes here.
CHECKS: tuple[Callable[[Plan, Consent], list[str]], ...] = (destroy_refusals,)


def refusals(plan: Plan, consent: Consent) -> list[str]:
    return [line for check in CHECKS for line in check(plan, consent)]


def check(plan: Plan, consent: Consent) -> None:
    """Raise GuardrailRefused listing every step the consent does not cover."""
    refused = refusals(plan, consent)
    if refused:
        raise GuardrailRefused(refused)
