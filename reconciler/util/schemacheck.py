"""A JSON Schema with two validators behind it.

jsonschema-rs (Rust) answers "is this valid?" in microseconds per object; jsonschema
(pure Python, ~0.3 ms per manifest index) builds the error tree our messages and
file:line:col locations come from. Valid input, the common case, never pays for, or even
imports, the second: an in-sync manifest of 5,000 indexes validates in ~10 ms instead of
~1.5 s. jsonschema stays the authority: whatever jsonschema-rs rejects (or cannot read,
such as an integer beyond 64 bits) is validated again by jsonschema, and only the errors
jsonschema reports count. tests/manifest/test_schema_agreement.py checks the two agree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


class SchemaCheck:
    def __init__(self, schema: dict[str, Any]):
        self.schema = schema

    @functools.cached_property
    def fast(self) -> Any:
        # jsonschema-rs imports decimal from Rust on its first validation, where a Ctrl-C
        # arriving during that import becomes a Rust panic (a PanicException and a panic
        # message on stderr) instead of a KeyboardInterrupt: imported here, it is a lookup.
        import decimal  # noqa: F401

        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator(self.schema)

    @functools.cached_property
    def full(self) -> Draft202012Validator:
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.schema)

    def surely_valid(self, instance: Any) -> bool:
        try:
            return bool(self.fast.is_valid(instance))
        except (ValueError, TypeError, OverflowError, RecursionError):  # values it cannot represent
            return False

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        """jsonschema's errors (none when jsonschema-rs finds the instance valid)."""
        if self.surely_valid(instance):
            return iter(())
        errors: Iterator[ValidationError] = self.full.iter_errors(instance)  # jsonschema ships no types
        return errors
