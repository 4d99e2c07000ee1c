"""argparse types for numeric flags, shared by the CLI and `reconciler serve`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def number(convert: Callable[[str], N], accept: Callable[[N], bool], expected: str,
           out_of_range: str | None = None) -> Callable[[str], N]:
    """A flag type: `convert` the text, then require `accept(value)`; errors say what was expected."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {out_of_range or expected}, got {text!r}")
        return value

    return parse


positive_int = number(int, lambda v: v >= 1, "a positive integer")
positive_float = number(float, lambda v: v > 0, "a positive number")
non_negative_float = number(float, lambda v: 0 <= v < float("inf"), "a number >= 0")
port = number(int, lambda v: 0 <= v <= 65535, "a port number", "a port between 0 and 65535")


def non_empty(text: str) -> str:
    """A flag value that must say something (`-out=` would save nothing and exit 0)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a value, got an empty one")
    return text
