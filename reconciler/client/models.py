"""Typed results of the TOS Vectors actions (frozen dataclasses), and their JSON parsing.

Parsing is lenient where the SDK is (absent optional fields become None / 0 / empty) and
strict where a missing field would hide a real problem (a Get without its wrapper object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a List* action; `next_token` is None on the last page."""

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True)
class VectorBucket:
    """GetVectorBucket result. `creation_time` is Unix seconds."""

    name: str
    trn: str
    creation_time: int
    project_name: str | None = None


@dataclass(frozen=True)
class VectorBucketSummary:
    """One entry of ListVectorBuckets."""

    name: str
    trn: str
    creation_time: int
    project_name: str | None = None


@dataclass(frozen=True)
class Index:
    """GetIndex result."""

    bucket: str
    name: str
    trn: str
    creation_time: int
    data_type: str
    dimension: int
    distance_metric: str
    non_filterable_metadata_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexSummary:
    """One entry of ListIndexes."""

    bucket: str
    name: str
    trn: str
    creation_time: int


@dataclass(frozen=True)
class Vector:
    """A vector to put (PutVectors) or one read back (GetVectors / ListVectors).

    `data` is float32 values; reads carry it only when the service returns it."""

    key: str
    data: list[float] | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueryMatch:
    """One QueryVectors result; fields the request did not ask for are None."""

    key: str
    distance: float | None = None
    metadata: dict[str, Any] | None = None
    data: list[float] | None = None


# --- parsing -------------------------------------------------------------------------


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _str(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _float32(data: Any) -> list[float] | None:
    if isinstance(data, Mapping):
        values = data.get("float32")
        if isinstance(values, list):
            return [float(x) for x in values]
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
        Vector(key=_str(v.get("key")), data=_float32(v.get("data")), metadata=_dict(v.get("metadata")))
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
                data=_float32(v.get("data")),
            )
        )
    return out
