"""JSON objects with each key once: readers disagree on a repeated key (Python keeps the
last, others the first), so a document that repeats one is refused rather than read one
way here and another way elsewhere. Used for policy documents and saved plan files."""

from __future__ import annotations

from typing import Any


class RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A `json.loads` object_pairs_hook: the object, or RepeatedKey."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RepeatedKey(key)
        out[key] = value
    return out
