"""The desired state as loaded from manifests: frozen values, already validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.errors import Diagnostic


@dataclass(frozen=True)
class Source:
    """Where something was declared: file and 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class IndexSpec:
    bucket: str
    name: str
    dimension: int
    distance_metric: str  # "euclidean" | "cosine"
    data_type: str  # "float32"
    non_filterable_metadata_keys: frozenset[str]
    prevent_destroy: bool  # in effect: its own preventDestroy, else its bucket's
    source: Source
    declared_prevent_destroy: bool | None = None  # as written; None: not set (the bucket's holds)


@dataclass(frozen=True)
class AccessTest:
    """One `accessTests` entry: may `principal` do `action` on the bucket (or `index`)?"""

    principal: str  # "*", ACCOUNT or ACCOUNT/NAME
    action: str  # one tosvectors:<Action>, canonical case
    index: str | None  # None: the bucket itself
    expect: str  # "allow" | "deny"
    source: Source  # the entry, where a failure is reported


@dataclass(frozen=True)
class BucketSpec:
    name: str
    prevent_destroy: bool
    prune_indexes: bool
    # The policy document as written (mapping, JSON string or policyFile), parsed and
    # interpolated but not canonicalised; None when the manifest leaves it unmanaged.
    policy: dict[str, Any] | None
    indexes: tuple[IndexSpec, ...]
    source: Source
    allow_public_access: bool = False  # its policy may grant access to "*" (README.md, "Access")
    access_tests: tuple[AccessTest, ...] = ()


@dataclass(frozen=True)
class Duration:
    """A duration as written (`7d`) and in seconds."""

    text: str
    seconds: int


@dataclass(frozen=True)
class Manifest:
    account: str | None
    region: str | None
    prune_buckets: tuple[str, ...]
    buckets: tuple[BucketSpec, ...]
    files: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    # prune.olderThan: only buckets the service created longer ago than this are pruned
    prune_older_than: Duration | None = None

    def bucket(self, name: str) -> BucketSpec | None:
        for b in self.buckets:
            if b.name == name:
                return b
        return None
