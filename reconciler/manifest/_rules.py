"""Naming rules (README "Wire protocol" §0, §5) and prune-pattern rules, each explained in its message."""

from __future__ import annotations

from reconciler.rules.names import BUCKET_CHARS, BUCKET_NAME, INDEX_NAME, NameFault, NameRule, name_fault
from reconciler.util.text import cut

BUCKET_RULE = "bucket names are 3-32 characters of a-z, 0-9 and '-', and do not start or end with '-'"
INDEX_RULE = (
    "index names are 3-63 characters of a-z, 0-9, '-' and '.', and start and end with a letter or digit"
)


def _chars(n: int) -> str:
    return "1 character" if n == 1 else f"{n} characters"


def _reason(fault: NameFault) -> str:
    if fault.kind == "length":
        return f"it is {_chars(fault.length)} long"
    if fault.kind == "char":
        if fault.char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            return f"{fault.char!r} is not allowed (names are lowercase)"
        return f"{fault.char!r} is not allowed"
    return f"it {fault.kind}s with {fault.char!r}"


def _problem(rule: NameRule, summary: str, name: str) -> str | None:
    fault = name_fault(rule, name)
    return None if fault is None else f"invalid {rule.what} name {cut(name)!r}: {_reason(fault)}; {summary}"


def bucket_name_problem(name: str) -> str | None:
    return _problem(BUCKET_NAME, BUCKET_RULE, name)


def index_name_problem(name: str) -> str | None:
    return _problem(INDEX_NAME, INDEX_RULE, name)


def prune_pattern_problem(pattern: str) -> str | None:
    """Why a prune.buckets glob is unusable, or None.

    Patterns are fnmatch globs over bucket names: `*`, `?`, and classes like `[a-z]` or
    `[!0-9]`. fnmatch itself accepts anything (an unclosed `[` matches literally), so the
    rules here catch what is certainly a mistake: characters no bucket name can contain,
    and broken classes.
    """
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] == "!" else i + 1)
            body = pattern[i + 1:end] if end >= 0 else ""
            if body.startswith("!"):
                body = body[1:]
            if end < 0:
                return f"invalid prune pattern {cut(pattern)!r}: '[' at position {i + 1} is never closed by ']'"
            if not body:
                return f"invalid prune pattern {cut(pattern)!r}: empty character class '[]'"
            bad = [c for c in body if c not in BUCKET_CHARS]
            if bad:
                return (f"invalid prune pattern {cut(pattern)!r}: {bad[0]!r} in a character class can never "
                        f"match a bucket name (a-z, 0-9 and '-')")
            i = end + 1
            continue
        if ch not in BUCKET_CHARS and ch not in "*?":
            return (f"invalid prune pattern {cut(pattern)!r}: {ch!r} can never match a bucket name; patterns use "
                    f"a-z, 0-9, '-' and the wildcards *, ? and [...]")
        i += 1
    return None


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int | None:
    """`30m` -> 1800; None when `text` is not a whole number of s, m, h or d (the schema's
    pattern, which reports the problem)."""
    number, unit = text[:-1], text[-1:]
    if unit not in _UNIT_SECONDS or not number.isascii() or not number.isdigit() or int(number) < 1:
        return None
    return int(number) * _UNIT_SECONDS[unit]
