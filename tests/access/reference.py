"""The brute-force reference for the access delta: `evaluate` (README.md, "Access", the
evaluator the emulator enforces) on every (principal, action, resource) of the delta's
universe, one triple at a time, as the delta was first computed. Slow (its work grows
with principals x resources x statements), exact by construction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.rules import access
from reconciler.rules.access import (
    ACTIONS,
    ANYONE,
    AccessChange,
    evaluate,
    named_principals,
    new_public_statements,
)

_LEVEL = {"deny": 0, "not-granted": 0, "conditional": 1, "allow": 2}


def reference_delta(before: Any, after: Any, region: str, account: str, bucket: str,
                    indexes: Iterable[str]) -> list[AccessChange]:
    """The delta, one `evaluate` per (principal, action, resource) of the universe."""
    docs = [d for d in (before, after) if d is not None]
    universe = access._universe(region, account, bucket, indexes, docs)
    resource_rank = {r: i for i, r in enumerate(dict.fromkeys(shown for _, shown, _ in universe))}
    out: list[AccessChange] = []
    by_anyone: set[tuple[str, str, str, bool]] = set()
    for principal in named_principals(*docs):
        for action, shown, evaluated in universe:
            was = _LEVEL[evaluate(before, principal, action, evaluated).verdict.value]
            now_verdict = evaluate(after, principal, action, evaluated).verdict.value
            now = _LEVEL[now_verdict]
            if was == now:
                continue
            change = AccessChange(principal, action, shown, "grant" if now > was else "revoke",
                                  conditional=now_verdict == "conditional")
            key = (action, shown, change.change, change.conditional)
            if principal == ANYONE:
                by_anyone.add(key)
            elif key in by_anyone:
                continue
            out.append(change)
    rank = {p: i for i, p in enumerate(named_principals(*docs))}
    out.sort(key=lambda c: (rank[c.principal], c.change != "grant", resource_rank[c.resource],
                            ACTIONS.index(c.action)))
    return out


def reference_public(before: Any, after: Any, region: str, account: str, bucket: str, indexes: Iterable[str]) -> bool:
    """grants_public, one `evaluate` per (action, resource) for anyone."""
    if new_public_statements(before, after, bucket):
        return True
    docs = [d for d in (before, after) if d is not None]
    return any(_LEVEL[evaluate(after, ANYONE, a, r).verdict.value]
               > _LEVEL[evaluate(before, ANYONE, a, r).verdict.value]
               for a, _, r in access._universe(region, account, bucket, indexes, docs))
