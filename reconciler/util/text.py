"""Text that cannot be written out: lone UTF-16 surrogates.

A YAML or JSON escape such as "\\ud800" without its pair, or an environment variable holding
bytes that are not UTF-8, gives a Python string with a lone surrogate. It loads and
validates, and then fails as an internal error when the plan is printed or sent. It is
refused where it is read instead, with its position.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.util.secrets import MASK, mask, mask_cut_end

# Compiled on first use (re caches them): ASCII text, most of it, needs neither.
_SURROGATE = "[\ud800-\udfff]"


def lone_surrogate(text: str) -> str | None:
    """Why `text` is not valid Unicode, or None when it is."""
    if text.isascii():
        return None
    found = re.search(_SURROGATE, text)
    if found is None:
        return None
    return f"{found.group()!r} is a lone UTF-16 surrogate, not a character"


def lone_surrogate_in(value: Any) -> str | None:
    """`lone_surrogate` for the first string anywhere in a parsed document, keys included
    (iterative, and each container once: depth and shared nodes cost nothing extra)."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = lone_surrogate(item)
            if problem:
                return problem
        elif isinstance(item, (dict, list)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(reversed([*item.keys(), *item.values()] if isinstance(item, dict) else item))
    return None


_ESCAPE = r"\\u[dD]([89abAB]|[c-fC-F])[0-9a-fA-F]{2}"


def lone_escape_at(json_text: str) -> tuple[int, int]:
    """(line, column) of the first \\uD800-\\uDFFF escape in JSON text that is not half of a
    pair; (1, 1) when there is none to point at."""
    paired_low = -1
    escape = re.compile(_ESCAPE)
    for m in escape.finditer(json_text):
        high = m.group(1) in "89abAB"
        if m.start() == paired_low:
            continue
        nxt = escape.match(json_text, m.end())
        if high and nxt and nxt.group(1) not in "89abAB":
            paired_low = m.end()
            continue
        line = json_text.count("\n", 0, m.start()) + 1
        return line, m.start() - (json_text.rfind("\n", 0, m.start()) + 1) + 1
    return 1, 1


# --- untrusted text on a terminal ------------------------------------------------------------
# A plan file, a live policy or a server's error can hold any character. Shown raw, ESC and
# OSC sequences clear the screen or set the clipboard, CR overwrites a line, and a bidi
# override (U+202E) makes text read other than it is. Every human renderer shows such text
# through `printable`; JSON output is escaped by json itself.


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` with each character a terminal would act on rather than show (C0 and C1
    controls, DEL, bidi overrides and isolates, any other non-printable character) written
    as a `\\u001b`, `\\u202e` escape: as JSON writes it, so the access matrix, the
    plan's lines and its JSON documents spell it alike. `newlines` keeps "\\n" (for
    multi-line blocks)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (newlines and c == "\n") else _escaped(c) for c in text)


def printable_json(text: str) -> str:
    """`printable` for JSON text (already escaped by json.dumps except for DEL, C1 and
    format characters): the escapes are JSON's own, so the document means the same."""
    return printable(text, newlines=True)


def _escaped(c: str) -> str:
    n = ord(c)
    if n < 0x10000:
        return f"\\u{n:04x}"
    high, low = divmod(n - 0x10000, 0x400)  # a JSON escape of a non-BMP character is a pair
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def printable_in(value: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of a parsed document with `printable` applied to every string, keys included,
    except under the keys in `keep` (shown another way, e.g. as JSON through `printable_json`)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [printable_in(v, keep=keep) for v in value]
    if isinstance(value, dict):
        return {printable(k) if isinstance(k, str) else k: (v if k in keep else printable_in(v, keep=keep))
                for k, v in value.items()}
    return value


# --- echoing values in error lines --------------------------------------------------------------

ECHO_LIMIT = 64


def cut(text: str, limit: int = ECHO_LIMIT, tail: str | None = None) -> str:
    """`text` as an error line echoes it: at most `limit` characters, then `tail` (default
    `…(N chars)`, so that a 5 MB value gives a short line and the reader still knows how
    long it was).

    Secrets are masked first and the cut comes after: output masking replaces whole values
    only, so a secret cut in two would otherwise show its first part (23 of 24 characters of
    a padded access key did). A cut that ends inside something that starts like a secret
    ends in `****` instead."""
    text = mask(text)
    if len(text) <= limit:
        return text
    straddling = [i for i in range(max(0, limit - len(MASK) + 1), limit) if text.startswith(MASK, i)]
    head = text[:straddling[0]] + MASK if straddling else mask_cut_end(text[:limit])  # a mask stays whole
    return head + (f"…({len(text):,} chars)" if tail is None else tail)
