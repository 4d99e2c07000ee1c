"""Naming rules (WIRE.md §0, §5) and prune-pattern rules, each explained in its message."""

from __future__ import annotations

import string

BUCKET_RULE = "bucket names are 3-32 characters of a-z, 0-9 and '-', and do not start or end with '-'"
INDEX_RULE = (
    "index names are 3-63 characters of a-z, 0-9, '-' and '.', and start and end with a letter or digit"
)
_ALNUM = set(string.ascii_lowercase + string.digits)
_BUCKET_CHARS = _ALNUM | {"-"}
_INDEX_CHARS = _ALNUM | {"-", "."}


def _chars(n: int) -> str:
    return "1 character" if n == 1 else f"{n} characters"


def _bad_char(name: str, allowed: set[str]) -> str | None:
    for ch in name:
        if ch not in allowed:
            if ch in string.ascii_uppercase:
                return f"{ch!r} is not allowed (names are lowercase)"
            return f"{ch!r} is not allowed"
    return None


def bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 32:
        reason: str | None = f"it is {_chars(len(name))} long"
    else:
        reason = _bad_char(name, _BUCKET_CHARS)
        if reason is None and name.startswith("-"):
            reason = "it starts with '-'"
        elif reason is None and name.endswith("-"):
            reason = "it ends with '-'"
    return None if reason is None else f"invalid bucket name {name!r}: {reason}; {BUCKET_RULE}"


def index_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        reason: str | None = f"it is {_chars(len(name))} long"
    else:
        reason = _bad_char(name, _INDEX_CHARS)
        if reason is None and name[0] not in _ALNUM:
            reason = f"it starts with {name[0]!r}"
        elif reason is None and name[-1] not in _ALNUM:
            reason = f"it ends with {name[-1]!r}"
    return None if reason is None else f"invalid index name {name!r}: {reason}; {INDEX_RULE}"


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
                return f"invalid prune pattern {pattern!r}: '[' at position {i + 1} is never closed by ']'"
            if not body:
                return f"invalid prune pattern {pattern!r}: empty character class '[]'"
            bad = [c for c in body if c not in _BUCKET_CHARS]
            if bad:
                return (f"invalid prune pattern {pattern!r}: {bad[0]!r} in a character class can never "
                        f"match a bucket name (a-z, 0-9 and '-')")
            i = end + 1
            continue
        if ch not in _BUCKET_CHARS and ch not in "*?":
            return (f"invalid prune pattern {pattern!r}: {ch!r} can never match a bucket name; patterns use "
                    f"a-z, 0-9, '-' and the wildcards *, ? and [...]")
        i += 1
    return None
