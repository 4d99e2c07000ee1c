"""The desired state as loaded from manifests: frozen values, already validated.

NamedTuples, not frozen dataclasses: `dataclasses` imports `inspect` (~5 ms) and each
class costs ~0.5 ms to create, paid by every `validate`; typing is loaded anyway.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from reconciler.errors import Diagnostic


class Source(NamedTuple):
    """Where something was declared: file and 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class IndexSpec(NamedTuple):
    bucket: str
    name: str
    dimension: int
    distance_metric: str  # "euclidean" | "cosine"
    data_type: str  # "float32"
    non_filterable_metadata_keys: frozenset[str]
    prevent_destroy: bool  # in effect: its own preventDestroy, else its bucket's
    source: Source
    declared_prevent_destroy: bool | None = None  # as written; None: not set (the bucket's holds)


class AccessTest(NamedTuple):
    """One `accessTests` entry: may `principal` do `action` on the bucket (or `index`)?"""

    principal: str  # "*", ACCOUNT or ACCOUNT/NAME
    action: str  # one tosvectors:<Action>, canonical case
    index: str | None  # type: ignore[assignment]  # None: the bucket itself (shadows tuple.index, unused here)
    expect: str  # "allow" | "deny"
    source: Source  # the entry, where a failure is reported


class BucketSpec(NamedTuple):
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


class Duration(NamedTuple):
    """A duration as written (`7d`) and in seconds."""

    text: str
    seconds: int


class Manifest(NamedTuple):
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
