"""QueryVectors' metadata filter language (README "Wire protocol" §0, §5): parse, validate, evaluate.

    {"genre": "drama"}                          implicit $eq
    {"year": {"$gte": 2000, "$lt": 2010}}       several operators on one key: all must hold
    {"$and": [...]}, {"$or": [...]}, {"$not": {...}}
    $eq $ne $gt $gte $lt $lte $in $nin $exists

Semantics follow AWS S3 Vectors and MongoDB, which the reference does not contradict:
- a metadata value that is an array matches when any element matches ($eq, $in, ranges);
  $ne and $nin are the negations of $eq and $in, so they also match a missing key;
- range operators take numbers and compare only numbers (a string never matches);
- JSON types are kept apart: true is not 1, "1" is not 1; numbers compare as float64
  (exact for integers up to 2**53);
- several keys in one object are ANDed; `{}` matches everything;
- $and / $or / $not nest at most 32 levels, and a filter holds at most 10,000 conditions
  and operands (emulator limits: the reference gives none).
A filter that breaks these rules is a 400 naming the offending path, e.g.
"filter.year.$gt must be a number, got string".

Evaluation is vectorised over a whole index: `Columns` holds, per metadata key, every
element of every vector's value split by JSON type into numpy arrays (strings as integer
codes), and each filter node turns them into a boolean mask with a few numpy operations.
No Python code runs per vector and operand: `$in` with 1,000 operands over 10,000 vectors
of 10 tags is one `np.isin` over 100,000 codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from reconciler.emulator.errors import ValidationException, shown
from reconciler.rules.names import json_type

MAX_DEPTH = 32  # nesting of $and / $or / $not; the reference gives none, real filters use a few
MAX_TERMS = 10_000  # conditions, $in / $nin operands and $and / $or / $not parts
FIELD_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists")
LOGICAL_OPERATORS = ("$and", "$or", "$not")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64: it still orders as an infinity
        return float("inf") if value > 0 else float("-inf")


_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass
class Column:
    """Every element of one metadata key's values, by JSON type: `*_rows` are the vector
    positions, parallel to the values (an array value gives one entry per element)."""

    present: np.ndarray  # (n,) bool: the key is there
    str_rows: np.ndarray
    str_codes: np.ndarray  # int64 codes into `str_index`
    str_index: dict[str, int]
    num_rows: np.ndarray
    num_values: np.ndarray  # float64
    bool_rows: np.ndarray
    bool_values: np.ndarray  # bool


class _ColumnBuilder:
    """Collects one key's elements, row by row."""

    def __init__(self, size: int) -> None:
        self.present = np.zeros(size, dtype=bool)
        self.str_rows: list[int] = []
        self.codes: list[int] = []
        self.index: dict[str, int] = {}
        self.num_rows: list[int] = []
        self.nums: list[float] = []
        self.bool_rows: list[int] = []
        self.bools: list[bool] = []

    def add(self, row: int, value: Any) -> None:
        self.present[row] = True
        for e in value if isinstance(value, list) else (value,):
            if isinstance(e, bool):
                self.bool_rows.append(row)
                self.bools.append(e)
            elif isinstance(e, str):
                self.str_rows.append(row)
                self.codes.append(self.index.setdefault(e, len(self.index)))
            elif _is_number(e):
                self.num_rows.append(row)
                self.nums.append(_as_float(e))

    def build(self) -> Column:
        def rows(items: list[int]) -> np.ndarray:
            return np.asarray(items, dtype=np.int64) if items else _NO_ROWS

        return Column(self.present, rows(self.str_rows), np.asarray(self.codes, dtype=np.int64), self.index,
                      rows(self.num_rows), np.asarray(self.nums, dtype=np.float64),
                      rows(self.bool_rows), np.asarray(self.bools, dtype=bool))


@dataclass
class Columns:
    """The metadata of one index version, column by column, built on first use per key."""

    metadata: Sequence[Mapping[str, Any]]
    _built: dict[str, Column] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.metadata)

    def prepare(self, keys: frozenset[str]) -> None:
        """Build the columns of `keys` not built yet, in one pass over the metadata: a
        filter naming 10,000 keys costs one pass, not 10,000."""
        wanted = {k: _ColumnBuilder(self.size) for k in keys if k not in self._built}
        if not wanted:
            return
        for row, md in enumerate(self.metadata):
            if len(md) <= len(wanted):
                for key, value in md.items():
                    builder = wanted.get(key)
                    if builder is not None:
                        builder.add(row, value)
            else:
                for key, builder in wanted.items():
                    if key in md:
                        builder.add(row, md[key])
        for key, builder in wanted.items():
            self._built.setdefault(key, builder.build())

    def column(self, key: str) -> Column:
        if key not in self._built:
            self.prepare(frozenset((key,)))
        return self._built[key]

    def rows_mask(self, rows: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        mask[rows] = True
        return mask


class Filter(Protocol):
    def mask(self, columns: Columns) -> np.ndarray: ...

    def keys(self) -> frozenset[str]: ...


def _split(operands: Sequence[Any]) -> tuple[list[str], list[float], list[bool]]:
    strings = [x for x in operands if isinstance(x, str)]
    numbers = [_as_float(x) for x in operands if _is_number(x)]
    booleans = [x for x in operands if isinstance(x, bool)]
    return strings, numbers, booleans


@dataclass(frozen=True)
class Condition:
    key: str
    op: str
    operand: Any

    def _any_of(self, c: Column, columns: Columns, operands: Sequence[Any]) -> np.ndarray:
        """Vectors with an element equal to one of `operands` (JSON types kept apart)."""
        strings, numbers, booleans = _split(operands)
        hits: list[np.ndarray] = []
        codes = [c.str_index[x] for x in strings if x in c.str_index]
        if codes:
            hits.append(c.str_rows[np.isin(c.str_codes, codes)])
        if numbers and c.num_rows.size:
            hits.append(c.num_rows[np.isin(c.num_values, numbers)])
        if booleans and c.bool_rows.size:
            hits.append(c.bool_rows[np.isin(c.bool_values, booleans)])
        return columns.rows_mask(np.concatenate(hits)) if hits else np.zeros(columns.size, dtype=bool)

    def mask(self, columns: Columns) -> np.ndarray:
        c = columns.column(self.key)
        op, operand = self.op, self.operand
        if op == "$exists":
            return c.present.copy() if operand else ~c.present
        if op in ("$eq", "$ne"):
            hit = self._any_of(c, columns, (operand,))
            return hit if op == "$eq" else ~hit
        if op in ("$in", "$nin"):
            hit = self._any_of(c, columns, operand)
            return hit if op == "$in" else ~hit
        bound = _as_float(operand)
        values = c.num_values
        if op == "$gt":
            selected = values > bound
        elif op == "$gte":
            selected = values >= bound
        elif op == "$lt":
            selected = values < bound
        else:  # $lte
            selected = values <= bound
        return columns.rows_mask(c.num_rows[selected])

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class All:
    parts: tuple[Filter, ...]

    def mask(self, columns: Columns) -> np.ndarray:
        out = np.ones(columns.size, dtype=bool)  # `{}` and `{"$not": {}}` have no parts
        for part in self.parts:
            out &= part.mask(columns)
        return out

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(p.keys() for p in self.parts))


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Filter, ...]

    def mask(self, columns: Columns) -> np.ndarray:
        out = self.parts[0].mask(columns)
        for part in self.parts[1:]:
            out |= part.mask(columns)
        return out

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(p.keys() for p in self.parts))


@dataclass(frozen=True)
class Negation:
    part: Filter

    def mask(self, columns: Columns) -> np.ndarray:
        return ~self.part.mask(columns)

    def keys(self) -> frozenset[str]:
        return self.part.keys()


def json_kind(value: Any) -> str:
    """The JSON type name of a parsed value, for messages ("number", not "int")."""
    return json_type(value)


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


class _Budget:
    """Counts a filter's conditions and operands while parsing, up to MAX_TERMS."""

    def __init__(self) -> None:
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > MAX_TERMS:
            raise ValidationException(
                f"filter must have at most {MAX_TERMS} conditions, $in / $nin operands and logical parts in all")


def _field(key: str, value: Any, where: str, budget: _Budget) -> Filter:
    if not key:
        raise ValidationException(f"{where} must not use an empty metadata key")
    if not isinstance(value, dict):
        budget.spend(1)
        return Condition(key, "$eq", _scalar(value, where))
    if not value:
        raise ValidationException(f"{where} must have at least one operator")
    parts: list[Filter] = []
    for op, operand in value.items():
        if op not in FIELD_OPERATORS:
            known = " ".join(FIELD_OPERATORS)
            raise ValidationException(f"{where}: unknown operator {shown(op)} (expected one of {known})")
        budget.spend(len(operand) if op in ("$in", "$nin") and isinstance(operand, list) else 1)
        parts.append(Condition(key, op, _operand(op, operand, f"{where}.{op}")))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _parse(node: Any, where: str, budget: _Budget, depth: int = 0) -> Filter:
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
            budget.spend(len(value))
            subs = tuple(_parse(v, f"{path}[{i}]", budget, depth + 1) for i, v in enumerate(value))
            parts.append(All(subs) if key == "$and" else AnyOf(subs))
        elif key == "$not":
            budget.spend(1)
            parts.append(Negation(_parse(value, path, budget, depth + 1)))
        elif key.startswith("$"):
            known = " ".join(LOGICAL_OPERATORS + FIELD_OPERATORS)
            raise ValidationException(f"{where}: unknown operator {shown(key)} (expected one of {known})")
        else:
            parts.append(_field(key, value, path, budget))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def parse_filter(node: Any) -> Filter:
    """Validate a filter document and compile it; ValidationException names the bad path."""
    return _parse(node, "filter", _Budget())


def check_filterable(flt: Filter, non_filterable: tuple[str, ...] | frozenset[str]) -> None:
    """Filtering on a non-filterable metadata key is a 400 (README "Wire protocol" §0)."""
    bad = sorted(flt.keys() & frozenset(non_filterable))
    if bad:
        raise ValidationException(
            f"filter uses non-filterable metadata key {shown(bad[0])}; the index declares "
            f"nonFilterableMetadataKeys {sorted(non_filterable)}")
