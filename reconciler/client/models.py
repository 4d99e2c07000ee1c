"""Typed results of the TOS Vectors actions (frozen dataclasses), and their JSON parsing.

Parsing is lenient where the SDK is (absent or null fields become None / 0 / empty) and
strict where a missing field would hide a real problem (a Get without its wrapper object).
A field that is present must have its type: a string where a list belongs is refused, not
read character by character (`Malformed`, which api.py reports with the action and the
request id), and a number must be finite (`1e400` overflows a float). `loads` reads the
JSON itself within limits: at most MAX_DEPTH levels of nesting, checked before parsing (so
nothing downstream can recurse out of stack), and no NaN or Infinity. Vectors' user
metadata is returned as the service sent it.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

INT8_MIN, INT8_MAX = -128, 127


class DataType(str, enum.Enum):
    """An index's vector data type (CreateIndex `dataType`), named as the SDKs send it."""

    FLOAT32 = "float32"
    INT8 = "int8"


@dataclass(frozen=True)
class VectorData:
    """Vector values of one data type, as the wire's `{"float32": [...]}` / `{"int8": [...]}`
    (the SDK's VectorData). Exactly one of the two is set; int8 values are integers
    -128..127, checked here so that a bad value fails before anything is sent."""

    float32: list[float] | None = None
    int8: list[int] | None = None

    def __post_init__(self) -> None:
        if (self.float32 is None) == (self.int8 is None):
            raise ValueError("VectorData takes exactly one of float32= and int8=")
        if self.int8 is not None:
            for i, v in enumerate(self.int8):
                # bool is an int, and 1.0 == 1, but neither is what an int8 vector holds
                if type(v) is bool or not isinstance(v, int) or not INT8_MIN <= v <= INT8_MAX:
                    raise ValueError(f"int8[{i}] must be an integer in {INT8_MIN}..{INT8_MAX}, got {v!r}")

    @property
    def data_type(self) -> DataType:
        return DataType.FLOAT32 if self.float32 is not None else DataType.INT8

    @property
    def values(self) -> list[float] | list[int]:
        return self.float32 if self.float32 is not None else self.int8 or []

    def wire(self) -> dict[str, list[Any]]:
        """The JSON object the service takes: Python ints and floats are kept as they are
        (SDK-identical bytes), other numbers (numpy scalars) become float / int."""
        if self.float32 is not None:
            return {"float32": [v if type(v) in (float, int) else float(v) for v in self.float32]}
        return {"int8": [int(v) for v in self.int8 or ()]}


def vector_data(data: VectorData | Sequence[float] | None) -> VectorData | None:
    """A plain sequence of numbers is float32 data (the common case, and the API before int8)."""
    if data is None or isinstance(data, VectorData):
        return data
    return VectorData(float32=list(data))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a List* action; `next_token` is None on the last page."""

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True)
class VectorBucketSummary:
    """One entry of ListVectorBuckets. `creation_time` is Unix seconds."""

    name: str
    trn: str
    creation_time: int
    project_name: str | None = None


@dataclass(frozen=True)
class VectorBucket(VectorBucketSummary):
    """GetVectorBucket result: today the same fields as a list entry."""


@dataclass(frozen=True)
class IndexSummary:
    """One entry of ListIndexes."""

    bucket: str
    name: str
    trn: str
    creation_time: int


@dataclass(frozen=True)
class Index(IndexSummary):
    """GetIndex result: a list entry's fields and the index's configuration."""

    data_type: str
    dimension: int
    distance_metric: str
    non_filterable_metadata_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vector:
    """A vector to put (PutVectors) or one read back (GetVectors / ListVectors).

    `data` is a VectorData; a plain list of numbers given here is float32 data and is
    stored as VectorData(float32=...). Reads carry it only when the service returns it."""

    key: str
    data: VectorData | None = None
    metadata: dict[str, Any] | None = None

    def __init__(self, key: str, data: VectorData | Sequence[float] | None = None,
                 metadata: dict[str, Any] | None = None):
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "data", vector_data(data))
        object.__setattr__(self, "metadata", metadata)


@dataclass(frozen=True)
class QueryMatch:
    """One QueryVectors result; fields the request did not ask for are None."""

    key: str
    distance: float | None = None
    metadata: dict[str, Any] | None = None
    data: VectorData | None = None

    def __init__(self, key: str, distance: float | None = None, metadata: dict[str, Any] | None = None,
                 data: VectorData | Sequence[float] | None = None):
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "distance", distance)
        object.__setattr__(self, "metadata", metadata)
        object.__setattr__(self, "data", vector_data(data))


# --- parsing -------------------------------------------------------------------------

# Nesting levels an answer may have. The service's deepest is a few levels (a page, an
# entry, its metadata, a list in it); a client that reads vectors' user metadata allows
# much more, and stays far below any recursion limit of the code that walks it later.
MAX_DEPTH = 64
INT64 = 1 << 63
_QUOTES_AND_BRACKETS = bytes(sorted(set(range(256)) - set(b'[]{}"')))  # what translate deletes
_SQUARE = bytes.maketrans(b"{}", b"[]")


class Malformed(ValueError):
    """An answer that is not what the action returns; the message says where and why."""


def loads(raw: bytes) -> Any:
    """JSON from the wire nested at most MAX_DEPTH levels and without NaN or Infinity;
    Malformed otherwise. (A number too large for a float, `1e400`, reads as inf: the typed
    parsers below refuse it in every field they read.)"""
    if _too_deep(raw):
        raise Malformed(f"the response is nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(raw, parse_constant=_constant)
    except Malformed:
        raise
    except UnicodeDecodeError as exc:
        raise Malformed(f"the response is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:  # not reached past the depth check; kept so that it never escapes
        raise Malformed(f"the response is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError, and int() of a 4,300-digit number
        raise Malformed(f"the response is not JSON: {exc}") from None


def _too_deep(raw: bytes) -> bool:
    """Whether the brackets outside strings nest deeper than MAX_DEPTH, in C-speed passes
    (a Python loop over the bytes would cost more than parsing them)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False  # the common case: too few brackets to nest that deep
    # Escaped backslashes and quotes out, then only quotes and brackets kept: what lies
    # between two quotes is a string's. Of the rest, each pass removes the innermost
    # level. (Mismatched brackets stop the passes early; the parser refuses them.)
    kept = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_SQUARE, _QUOTES_AND_BRACKETS)
    left = b"".join(kept.split(b'"')[::2])
    for _ in range(MAX_DEPTH):
        inner = left.replace(b"[]", b"")
        if not inner or len(inner) == len(left):
            return False
        left = inner
    return True


def _constant(name: str) -> Any:
    raise Malformed(f"the response holds {name}, which is not a JSON number")


def _name(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _overflow(where: str) -> Malformed:
    return Malformed(f"{where} is a number out of range (past a float, as 1e400)")


def _wrong(where: str, expected: str, value: Any) -> Malformed:
    return Malformed(f"{where} is {_name(value)}, expected {expected}")


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    """An integer field (absent or null: 0); an integral float is the same number."""
    value = raw.get(key)
    if value is None:
        return 0
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _overflow(f"{where}.{key}")
        if value.is_integer():
            value = int(value)
    if type(value) is not int:
        raise _wrong(f"{where}.{key}", "an integer", value)
    if not -INT64 <= value < INT64:
        raise Malformed(f"{where}.{key} is out of range ({str(value)[:20]}...)")
    return value


def _str(raw: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(f"{where}.{key}", "a string", value)
    return value


def _opt_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return _str(raw, key, where) if raw.get(key) is not None else None


def _objects(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A list of objects (absent or null: empty)."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(key, "a list", value)
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _wrong(f"{key}[{i}]", "an object", item)
    return value


def _strings(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _wrong(f"{where}.{key}", "a list of strings", value)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _wrong(f"{where}.{key}[{i}]", "a string", item)
    return tuple(value)


def _object(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _wrong(f"{where}.{key}", "an object", value)
    return dict(value)


def _data(raw: Mapping[str, Any], where: str) -> VectorData | None:
    """`{"float32": [...]}` or `{"int8": [...]}`; None when absent. Types are checked; int8
    numbers that are not int8 values leave the data out (None), as the SDK would not fail a
    read over data the caller may not even look at."""
    data = _object(raw, "data", where)
    if data is None:
        return None
    for kind in ("float32", "int8"):
        values = data.get(kind)
        if values is None:
            continue
        if not isinstance(values, list):
            raise _wrong(f"{where}.data.{kind}", "a list of numbers", values)
        for i, x in enumerate(values):
            if type(x) is not float and type(x) is not int:
                raise _wrong(f"{where}.data.{kind}[{i}]", "a number", x)
            if not math.isfinite(x):
                raise _overflow(f"{where}.data.{kind}[{i}]")
        if kind == "float32":
            return VectorData(float32=[float(x) for x in values])
        if all(x == int(x) and INT8_MIN <= x <= INT8_MAX for x in values):
            return VectorData(int8=[int(x) for x in values])
        return None
    return None


def _token(body: Mapping[str, Any]) -> str | None:
    return _str(body, "nextToken", "response") or None


def _bucket_fields(raw: Mapping[str, Any], where: str, fallback_name: str = "") -> dict[str, Any]:
    """GetVectorBucket's `vectorBucket` and a ListVectorBuckets entry have the same shape."""
    return {
        "name": _str(raw, "vectorBucketName", where, fallback_name),
        "trn": _str(raw, "vectorBucketTrn", where),
        "creation_time": _int(raw, "creationTime", where),
        "project_name": _opt_str(raw, "projectName", where),
    }


def parse_vector_bucket(raw: Mapping[str, Any], fallback_name: str = "") -> VectorBucket:
    return VectorBucket(**_bucket_fields(raw, "vectorBucket", fallback_name))


def parse_bucket_page(body: Mapping[str, Any]) -> Page[VectorBucketSummary]:
    items = [VectorBucketSummary(**_bucket_fields(b, f"vectorBuckets[{i}]"))
             for i, b in enumerate(_objects(body, "vectorBuckets"))]
    return Page(items, _token(body))


def parse_index(raw: Mapping[str, Any], bucket: str, name: str) -> Index:
    where = "index"
    config = _object(raw, "metadataConfiguration", where) or {}
    return Index(
        bucket=_str(raw, "vectorBucketName", where, bucket),
        name=_str(raw, "indexName", where, name),
        trn=_str(raw, "indexTrn", where),
        creation_time=_int(raw, "creationTime", where),
        data_type=_str(raw, "dataType", where),
        dimension=_int(raw, "dimension", where),
        distance_metric=_str(raw, "distanceMetric", where),
        non_filterable_metadata_keys=_strings(config, "nonFilterableMetadataKeys", f"{where}.metadataConfiguration"),
    )


def parse_index_page(body: Mapping[str, Any], bucket: str) -> Page[IndexSummary]:
    items = []
    for n, i in enumerate(_objects(body, "indexes")):
        where = f"indexes[{n}]"
        items.append(IndexSummary(
            bucket=_str(i, "vectorBucketName", where, bucket),
            name=_str(i, "indexName", where),
            trn=_str(i, "indexTrn", where),
            creation_time=_int(i, "creationTime", where),
        ))
    return Page(items, _token(body))


def parse_vectors(body: Mapping[str, Any]) -> list[Vector]:
    out = []
    for n, v in enumerate(_objects(body, "vectors")):
        where = f"vectors[{n}]"
        out.append(Vector(key=_str(v, "key", where), data=_data(v, where), metadata=_object(v, "metadata", where)))
    return out


def parse_vector_page(body: Mapping[str, Any]) -> Page[Vector]:
    return Page(parse_vectors(body), _token(body))


def parse_matches(body: Mapping[str, Any]) -> list[QueryMatch]:
    out = []
    for n, v in enumerate(_objects(body, "vectors")):
        where = f"vectors[{n}]"
        distance = v.get("distance")
        if distance is not None and type(distance) not in (int, float):
            raise _wrong(f"{where}.distance", "a number", distance)
        if distance is not None and not math.isfinite(distance):
            raise _overflow(f"{where}.distance")
        out.append(
            QueryMatch(
                key=_str(v, "key", where),
                distance=float(distance) if distance is not None else None,
                metadata=_object(v, "metadata", where),
                data=_data(v, where),
            )
        )
    return out
