"""Text that cannot be written out: lone UTF-16 surrogates.

A YAML or JSON escape such as "\\ud800" without its pair, or an environment variable holding
bytes that are not UTF-8, gives a Python string with a lone surrogate. It loads and
validates, and then fails as an internal error when the plan is printed or sent. It is
refused where it is read instead, with its position.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """Why `text` is not valid Unicode, or None when it is."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
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


_ESCAPE = re.compile(r"\\u[dD]([89abAB]|[c-fC-F])[0-9a-fA-F]{2}")


def lone_escape_at(json_text: str) -> tuple[int, int]:
    """(line, column) of the first \\uD800-\\uDFFF escape in JSON text that is not half of a
    pair; (1, 1) when there is none to point at."""
    paired_low = -1
    for m in _ESCAPE.finditer(json_text):
        high = m.group(1) in "89abAB"
        if m.start() == paired_low:
            continue
        nxt = _ESCAPE.match(json_text, m.end())
        if high and nxt and nxt.group(1) not in "89abAB":
            paired_low = m.end()
            continue
        line = json_text.count("\n", 0, m.start()) + 1
        return line, m.start() - (json_text.rfind("\n", 0, m.start()) + 1) + 1
    return 1, 1
