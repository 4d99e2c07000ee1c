"""The metadata filter language of QueryVectors (WIRE.md §0): parse, validate, evaluate.

    {"genre": "drama"}                          implicit $eq
    {"year": {"$gte": 2000, "$lt": 2010}}       several operators on one key: all must hold
    {"$and": [...]}, {"$or": [...]}, {"$not": {...}}
    $eq $ne $gt $gte $lt $lte $in $nin $exists

Semantics follow AWS S3 Vectors and MongoDB, which the reference does not contradict:
- a metadata value that is an array matches when any element matches ($eq, $in, ranges);
  $ne and $nin are the negations of $eq and $in, so they also match a missing key;
- range operators take numbers and compare only numbers (a string never matches);
- JSON types are kept apart: true is not 1, "1" is not 1;
- several keys in one object are ANDed; `{}` matches everything;
- $and / $or / $not nest at most 32 levels (an emulator limit: the reference gives none).
A filter that breaks these rules is a 400 naming the offending path, e.g.
"filter.year.$gt must be a number, got string".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from reconciler.emulator.errors import ValidationException

MAX_DEPTH = 32  # nesting of $and / $or / $not; the reference gives none, real filters use a few
FIELD_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists")
LOGICAL_OPERATORS = ("$and", "$or", "$not")


class Filter(Protocol):
    def matches(self, metadata: Mapping[str, Any]) -> bool: ...

    def keys(self) -> frozenset[str]: ...


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: booleans equal only booleans, numbers compare by value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return isinstance(a, str) and isinstance(b, str) and a == b


@dataclass(frozen=True)
class Condition:
    key: str
    op: str
    operand: Any

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        if self.key not in metadata:
            return self.op in ("$ne", "$nin") or (self.op == "$exists" and not self.operand)
        if self.op == "$exists":
            return bool(self.operand)
        value = metadata[self.key]
        elements = value if isinstance(value, list) else [value]
        op, operand = self.op, self.operand
        if op == "$eq":
            return any(_same(e, operand) for e in elements)
        if op == "$ne":
            return not any(_same(e, operand) for e in elements)
        if op == "$in":
            return any(_same(e, x) for e in elements for x in operand)
        if op == "$nin":
            return not any(_same(e, x) for e in elements for x in operand)
        numbers = [e for e in elements if _is_number(e)]
        if op == "$gt":
            return any(e > operand for e in numbers)
        if op == "$gte":
            return any(e >= operand for e in numbers)
        if op == "$lt":
            return any(e < operand for e in numbers)
        return any(e <= operand for e in numbers)  # $lte

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class All:
    parts: tuple[Filter, ...]

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        return all(p.matches(metadata) for p in self.parts)

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(p.keys() for p in self.parts))


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Filter, ...]

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        return any(p.matches(metadata) for p in self.parts)

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(p.keys() for p in self.parts))


@dataclass(frozen=True)
class Negation:
    part: Filter

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        return not self.part.matches(metadata)

    def keys(self) -> frozenset[str]:
        return self.part.keys()


def json_kind(value: Any) -> str:
    """The JSON type name of a parsed value, for messages ("number", not "int")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, (str, bool)) or _is_number(value):
        return value
    raise ValidationException(f"{where} must be a string, number or boolean, got {json_kind(value)}")


def _operand(op: str, value: Any, where: str) -> Any:
    if op in ("$eq", "$ne"):
        return _scalar(value, where)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if not _is_number(value):
            raise ValidationException(f"{where} must be a number, got {json_kind(value)}")
        return value
    if op in ("$in", "$nin"):
        if not isinstance(value, list) or not value:
            raise ValidationException(f"{where} must be a non-empty array, got {json_kind(value)}")
        return tuple(_scalar(v, f"{where}[{i}]") for i, v in enumerate(value))
    if not isinstance(value, bool):  # $exists
        raise ValidationException(f"{where} must be a boolean, got {json_kind(value)}")
    return value


def _field(key: str, value: Any, where: str) -> Filter:
    if not key:
        raise ValidationException(f"{where} must not use an empty metadata key")
    if not isinstance(value, dict):
        return Condition(key, "$eq", _scalar(value, where))
    if not value:
        raise ValidationException(f"{where} must have at least one operator")
    parts: list[Filter] = []
    for op, operand in value.items():
        if op not in FIELD_OPERATORS:
            known = " ".join(FIELD_OPERATORS)
            raise ValidationException(f"{where}: unknown operator {op!r} (expected one of {known})")
        parts.append(Condition(key, op, _operand(op, operand, f"{where}.{op}")))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _parse(node: Any, where: str, depth: int = 0) -> Filter:
    if depth > MAX_DEPTH:
        raise ValidationException(f"filter must not nest $and / $or / $not more than {MAX_DEPTH} levels deep")
    if not isinstance(node, dict):
        raise ValidationException(f"{where} must be an object, got {json_kind(node)}")
    parts: list[Filter] = []
    for key, value in node.items():
        path = f"{where}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise ValidationException(f"{path} must be a non-empty array of filters, got {json_kind(value)}")
            subs = tuple(_parse(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
            parts.append(All(subs) if key == "$and" else AnyOf(subs))
        elif key == "$not":
            parts.append(Negation(_parse(value, path, depth + 1)))
        elif key.startswith("$"):
            known = " ".join(LOGICAL_OPERATORS + FIELD_OPERATORS)
            raise ValidationException(f"{where}: unknown operator {key!r} (expected one of {known})")
        else:
            parts.append(_field(key, value, path))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def parse_filter(node: Any) -> Filter:
    """Validate a filter document and compile it; ValidationException names the bad path."""
    return _parse(node, "filter")


def check_filterable(flt: Filter, non_filterable: tuple[str, ...] | frozenset[str]) -> None:
    """Filtering on a non-filterable metadata key is a 400 (WIRE.md §0)."""
    bad = sorted(flt.keys() & frozenset(non_filterable))
    if bad:
        raise ValidationException(
            f"filter uses non-filterable metadata key {bad[0]!r}; the index declares "
            f"nonFilterableMetadataKeys {sorted(non_filterable)}")
