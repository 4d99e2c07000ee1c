"""Typed results of the TOS Vectors actions (frozen dataclasses), and their JSON parsing.

Parsing is lenient where the SDK is (absent optional fields become None / 0 / empty) and
strict where a missing field would hide a real problem (a Get without its wrapper object).
"""

from __future__ import annotations

import enum
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


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _str(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _data(data: Any) -> VectorData | None:
    """`{"float32": [...]}` or `{"int8": [...]}`; None when absent or unreadable (lenient
    like the SDK: a read should not fail over data the caller may not even look at)."""
    if not isinstance(data, Mapping):
        return None
    values = data.get("float32")
    if isinstance(values, list):
        try:
            return VectorData(float32=[float(x) for x in values])
        except (TypeError, ValueError):
            return None
    values = data.get("int8")
    if isinstance(values, list):
        try:
            ints = [int(x) for x in values if isinstance(x, (int, float)) and math.isfinite(x) and x == int(x)]
            return VectorData(int8=ints) if len(ints) == len(values) else None
        except (TypeError, ValueError):
            return None
    return None


def _dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    return value if isinstance(value, list) else []


def _token(body: Mapping[str, Any]) -> str | None:
    token = body.get("nextToken")
    return str(token) if token else None


def _bucket_fields(raw: Mapping[str, Any], fallback_name: str = "") -> dict[str, Any]:
    """GetVectorBucket's `vectorBucket` and a ListVectorBuckets entry have the same shape."""
    return {
        "name": _str(raw.get("vectorBucketName"), fallback_name),
        "trn": _str(raw.get("vectorBucketTrn")),
        "creation_time": _int(raw.get("creationTime")),
        "project_name": raw.get("projectName"),
    }


def parse_vector_bucket(raw: Mapping[str, Any], fallback_name: str = "") -> VectorBucket:
    return VectorBucket(**_bucket_fields(raw, fallback_name))


def parse_bucket_page(body: Mapping[str, Any]) -> Page[VectorBucketSummary]:
    items = [VectorBucketSummary(**_bucket_fields(b)) for b in _list(body, "vectorBuckets") if isinstance(b, Mapping)]
    return Page(items, _token(body))


def parse_index(raw: Mapping[str, Any], bucket: str, name: str) -> Index:
    config = raw.get("metadataConfiguration")
    keys = config.get("nonFilterableMetadataKeys") if isinstance(config, Mapping) else None
    return Index(
        bucket=_str(raw.get("vectorBucketName"), bucket),
        name=_str(raw.get("indexName"), name),
        trn=_str(raw.get("indexTrn")),
        creation_time=_int(raw.get("creationTime")),
        data_type=_str(raw.get("dataType")),
        dimension=_int(raw.get("dimension")),
        distance_metric=_str(raw.get("distanceMetric")),
        non_filterable_metadata_keys=tuple(str(k) for k in keys or ()),
    )


def parse_index_page(body: Mapping[str, Any], bucket: str) -> Page[IndexSummary]:
    items = [
        IndexSummary(
            bucket=_str(i.get("vectorBucketName"), bucket),
            name=_str(i.get("indexName")),
            trn=_str(i.get("indexTrn")),
            creation_time=_int(i.get("creationTime")),
        )
        for i in _list(body, "indexes")
        if isinstance(i, Mapping)
    ]
    return Page(items, _token(body))


def parse_vectors(body: Mapping[str, Any]) -> list[Vector]:
    return [
        Vector(key=_str(v.get("key")), data=_data(v.get("data")), metadata=_dict(v.get("metadata")))
        for v in _list(body, "vectors")
        if isinstance(v, Mapping)
    ]


def parse_vector_page(body: Mapping[str, Any]) -> Page[Vector]:
    return Page(parse_vectors(body), _token(body))


def parse_matches(body: Mapping[str, Any]) -> list[QueryMatch]:
    out = []
    for v in _list(body, "vectors"):
        if not isinstance(v, Mapping):
            continue
        distance = v.get("distance")
        out.append(
            QueryMatch(
                key=_str(v.get("key")),
                distance=float(distance) if distance is not None else None,
                metadata=_dict(v.get("metadata")),
                data=_data(v.get("data")),
            )
        )
    return out
