"""Resource kinds, described once.

The diff and the planner read these descriptions instead of special-casing kinds:
which attributes a kind has, which of them can only change by replacement, and how
its desired and live forms are normalised into comparable attribute dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.policy import canonical_policy


@dataclass(frozen=True)
class ResourceKind:
    name: str
    immutable: tuple[str, ...]  # a difference in any of these forces a replace
    mutable: tuple[str, ...]  # these are changed in place (Put)
    delete_destroys_data: bool


BUCKET = ResourceKind("bucket", immutable=(), mutable=(), delete_destroys_data=True)
INDEX = ResourceKind(
    "index",
    immutable=("dataType", "dimension", "distanceMetric", "nonFilterableMetadataKeys"),
    mutable=(),
    delete_destroys_data=True,
)
POLICY = ResourceKind("policy", immutable=(), mutable=("document",), delete_destroys_data=False)

KINDS: dict[str, ResourceKind] = {k.name: k for k in (BUCKET, INDEX, POLICY)}

# Order of creation within a bucket ("up"); deletion runs it backwards ("down").
UP_ORDER = ("bucket", "index", "policy")


def bucket_attrs(name: str) -> dict[str, Any]:
    return {"name": name}


def index_attrs(
    data_type: str, dimension: int, distance_metric: str, non_filterable_keys: Any
) -> dict[str, Any]:
    """Comparable index attributes; non-filterable keys compare as a set."""
    return {
        "dataType": data_type,
        "dimension": int(dimension),
        "distanceMetric": distance_metric,
        "nonFilterableMetadataKeys": sorted(set(non_filterable_keys)),
    }


def policy_attrs(document: dict[str, Any]) -> dict[str, Any]:
    """Comparable policy attributes: the canonical document (semantic comparison)."""
    return {"document": canonical_policy(document)}
