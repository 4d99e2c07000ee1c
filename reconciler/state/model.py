"""Live state as data: what a refresh found, and which buckets a prune scope claims.

Pure: no I/O, no client. The planner, the drift report and the renderers import this,
not `live` (which does the reads and so loads the HTTP client and asyncio).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.rules.names import too_deep


@dataclass(frozen=True)
class LiveIndex:
    bucket: str
    name: str
    attrs: dict[str, Any] | None  # None when only listed, not read with GetIndex


@dataclass(frozen=True)
class LiveBucket:
    name: str
    indexes: dict[str, LiveIndex]  # every index listed in the bucket
    policy: dict[str, Any] | None  # parsed document; None = no policy
    policy_text: str | None = None


@dataclass
class LiveState:
    """The buckets that were read; `absent` ones were read and not found.

    `listed` holds the account's bucket names when the account was listed (every refresh
    but one narrowed by --target without a prune scope), else None; `created` the
    service's creationTime (Unix seconds) of each listed bucket.
    """

    buckets: dict[str, LiveBucket] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    listed: tuple[str, ...] | None = None
    created: dict[str, int] = field(default_factory=dict)

    def bucket(self, name: str) -> LiveBucket | None:
        return self.buckets.get(name)

    def record(self, name: str, bucket: LiveBucket | None) -> None:
        """Note what one read found: the bucket, or that it is absent."""
        if bucket is None:
            self.absent.add(name)
        else:
            self.buckets[name] = bucket


def policy_object(text: str) -> dict[str, Any] | None:
    """The policy text as a JSON object, or None when it is not one, or when it nests deeper
    than rules.names.MAX_DEPTH: a policy nests 6 levels (Statement, a statement, Condition,
    an operator, a key, its values), and one deeper is kept as text, so that nothing that
    walks a policy meets it."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) and not too_deep(doc) else None


def parse_live_policy(text: str) -> dict[str, Any]:
    """A live policy that is not a JSON object still compares (as raw text)."""
    doc = policy_object(text)
    return {"raw": text} if doc is None else doc


def unread_policy(doc: Any) -> bool:
    """Whether a live document is one `parse_live_policy` (or `canonical_policy`, past its
    depth) could only keep as text: what it grants is not known."""
    return isinstance(doc, dict) and list(doc) == ["raw"] and isinstance(doc["raw"], str)


def in_prune_scope(bucket: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(bucket, p) for p in patterns)
