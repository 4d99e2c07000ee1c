"""The service's rules, once: names, limits, the default endpoint and JSON type names.

Pure data and predicates, importing nothing of the project, so the manifest loader, the
client and the emulator all read the same rule (and the emulator need not import the
client). Each caller words the verdict for its audience: a manifest line, an SDK-style
client error, an API ValidationException; the predicate saying *what* is wrong is here.
tests/test_rules_agree.py holds the JSON Schema, the client and the emulator to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

# --- names (the API reference; index names per README "Wire protocol" §0) -----------------------------

ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
BUCKET_CHARS = ALNUM | {"-"}
INDEX_CHARS = ALNUM | {"-", "."}


# NamedTuples, not frozen dataclasses: ~0.5 ms of start-up less each (`validate` loads this)
class NameRule(NamedTuple):
    """`low`-`high` characters from `chars`, starting and ending with one of `edges`."""

    what: str  # "bucket" or "index", for messages
    low: int
    high: int
    chars: frozenset[str]
    edges: frozenset[str]


BUCKET_NAME = NameRule("bucket", 3, 32, BUCKET_CHARS, ALNUM)
INDEX_NAME = NameRule("index", 3, 63, INDEX_CHARS, ALNUM)


class NameFault(NamedTuple):
    """Why a name breaks its rule: `kind` is "length", "char", "start" or "end"; `char` is
    the offending character (the first one not allowed, or the bad first/last one)."""

    kind: str
    length: int
    char: str = ""


def name_fault(rule: NameRule, name: str) -> NameFault | None:
    """The first way `name` breaks `rule` (length, then characters, then its ends), or None."""
    if not rule.low <= len(name) <= rule.high:
        return NameFault("length", len(name))
    for ch in name:
        if ch not in rule.chars:
            return NameFault("char", len(name), ch)
    if name[0] not in rule.edges:
        return NameFault("start", len(name), name[0])
    if name[-1] not in rule.edges:
        return NameFault("end", len(name), name[-1])
    return None


# --- index limits (the reference; [AWS] where it is silent, as README "Wire protocol" §0 says) --------

# the reference documents float32 only; the official SDKs also send int8 (README "Wire protocol" §0)
DATA_TYPES = ("float32", "int8")
DISTANCE_METRICS = ("euclidean", "cosine")
MIN_DIMENSION = 1
MAX_DIMENSION = 4096
MAX_NON_FILTERABLE_KEYS = 10  # [AWS]
MAX_METADATA_KEY_LENGTH = 63  # [AWS] for non-filterable keys

# --- bucket policies: the actions, and how deep a document may nest ---------------------------

# The service's actions that a bucket policy can grant (ListVectorBuckets included: the
# reference's own PutVectorBucketPolicy example grants it). `reconciler.rules.access`
# evaluates requests for them; `reconciler.rules.policy` (lint) checks Action entries
# against them without loading the evaluator.
ACTIONS: tuple[str, ...] = tuple(
    f"tosvectors:{name}"
    for name in (
        "CreateVectorBucket", "DeleteVectorBucket", "GetVectorBucket", "ListVectorBuckets",
        "PutVectorBucketPolicy", "GetVectorBucketPolicy", "DeleteVectorBucketPolicy",
        "CreateIndex", "DeleteIndex", "GetIndex", "ListIndexes",
        "PutVectors", "GetVectors", "DeleteVectors", "ListVectors", "QueryVectors",
    )
)
# A policy nests about 6 levels (document, Statement, statement, Condition, operator, values);
# a deeper one is no policy and is never walked recursively (json and copy would overflow
# the stack near 1,000 levels): it is read as unreadable.
MAX_DEPTH = 32


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests lists and mappings more than `limit` levels deep (iterative)."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        todo.extend((child, depth + 1) for child in children)
    return False


# --- where requests go ----------------------------------------------------------------------


def default_endpoint(region: str) -> str:
    """The public endpoint of a region, used when none is given."""
    return f"https://tosvectors-{region}.volces.com"


# --- JSON type names, for messages ----------------------------------------------------------


def json_type(value: Any, *, integer: bool = False) -> str:
    """The JSON type name of a parsed value ("number", not "int"; "integer" for an int when
    `integer`, as JSON Schema names it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if integer else "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
