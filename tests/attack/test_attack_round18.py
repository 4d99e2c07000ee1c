"""Round 18: the day's changes attacked as an adversary and a careless user would.

Each test names what an attacker (a hostile endpoint, a forged plan file, a hostile webhook
receiver or metrics client) or a careless user could do, and asserts what they see instead.
These run in process; the CLI ones (slow) are in test_attack_round18_cli.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.client.models import Index, VectorBucket, VectorBucketSummary
from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.manifest import load_manifests
from reconciler.plan.build import PlanOptions, build_plan
from reconciler.plan.model import Action, Plan, Target
from reconciler.render.output import output_json, output_text
from reconciler.state.outputs import read_outputs
from reconciler.state.refresh import refresh
from reconciler.util.text import printable
from tests.support.hostile_server import ACCOUNT, BUCKET, MANIFEST

# --- `output`: what a hostile endpoint's identifiers can do to $GITHUB_OUTPUT ---------------------
# (`reconciler output` is in DESIGN.md's verb table but not wired into the CLI: the data and
# the renderers are tested here as the CLI would call them, and the CLI case is xfail.)

class _Hostile:
    """GetVectorBucket / GetIndex answers the way a hostile endpoint chooses them."""

    def __init__(self, trn: str = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}", created: int = 1_765_000_000,
                 metric: str = "cosine", keys: tuple[str, ...] = ("body",)):
        self.trn, self.created, self.metric, self.keys = trn, created, metric, keys

    async def get_vector_bucket(self, bucket: str, /) -> VectorBucket:
        return VectorBucket(bucket, self.trn, self.created)

    async def get_index(self, bucket: str, index: str, /) -> Index:
        return Index(bucket, index, self.trn + "/index/" + index, self.created, "float32", 4, self.metric, self.keys)


def _outputs(tmp_path: Path, live: _Hostile):  # type: ignore[no-untyped-def]
    (tmp_path / "m.yaml").write_text(MANIFEST)
    manifest = load_manifests([str(tmp_path / "m.yaml")], {})
    return asyncio.run(read_outputs(live, manifest, {"region": "cn-beijing"}, lambda b: None))


INJECTED = "\nDEPLOY_TARGET=attacker.example"
BREAKS = ["\n", "\r", "\u2028", "\x85", "\x1b]52;c;ZWNobw==\x07", "\x00"]


@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("field", ["trn", "metric", "keys"])
def test_output_text_never_lets_a_service_value_add_a_variable(field: str, brk: str, tmp_path: Path) -> None:
    """A TRN (or distance metric, or metadata key) with a line break, appended to
    $GITHUB_OUTPUT or a dotenv report, would set a variable of the endpoint's choosing for
    every later step (DEPLOY_TARGET=...). Such a value is refused as KEY=VALUE: one error
    naming the variable, and pointing to --format json, which escapes it."""
    value = f"x{brk}DEPLOY_TARGET=attacker.example"
    live = _Hostile(**({"trn": value} if field == "trn" else {"metric": value} if field == "metric"
                       else {"keys": ("body", value)}))
    outputs = _outputs(tmp_path, live)
    with pytest.raises(ReconcilerError) as e:
        output_text(outputs)
    line = str(e.value)
    assert "--format json" in line and "\n" not in line and printable(line) == line, line
    assert json.loads(output_json(outputs))  # JSON escapes it: that form still works


def test_output_text_keeps_ordinary_values(tmp_path: Path) -> None:
    """The control: an ordinary estate gives its KEY=VALUE lines (`=` and spaces in a value are fine)."""
    text = output_text(_outputs(tmp_path, _Hostile(keys=("a=b", "c d"))))
    assert "INDEX_HOSTILE__DOCS_NON_FILTERABLE_METADATA_KEYS=a=b,c d\n" in text


@pytest.mark.parametrize("when", [10**17, -10**17, 253402300800, -62135596801])
def test_output_a_creation_time_past_any_date_is_one_clear_error(when: int, tmp_path: Path) -> None:
    """creationTime 1e17 is an int64 the client accepts, but no date: it was an OSError
    ("Value too large for defined data type"), a traceback out of `output`."""
    with pytest.raises(ReconcilerError) as e:
        _outputs(tmp_path, _Hostile(created=when))
    assert "creationTime" in str(e.value) and str(when) in str(e.value), str(e.value)




# --- prune.olderThan: a list that names a bucket twice ----------------------------------------

NOW = 2_000_000_000
PRUNE = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 7d\nbuckets: []\n'


class _Listing:
    """An account whose list names buckets as a hostile endpoint chooses; each is empty."""

    def __init__(self, *entries: tuple[str, int]):
        self.entries = entries

    async def all_vector_buckets(self, *, prefix: str | None = None) -> list[VectorBucketSummary]:
        return [VectorBucketSummary(n, f"trn:{n}", t) for n, t in self.entries]

    async def all_indexes(self, bucket: str, /) -> list[Any]:
        return []

    async def get_vector_bucket_policy(self, bucket: str, /) -> str:
        raise NotFoundError("GetVectorBucketPolicy", 404, "VectorBucketPolicyNotFound", "no policy", "r")


def _prune_plan(tmp_path: Path, *entries: tuple[str, int]) -> Plan:
    (tmp_path / "m.yaml").write_text(PRUNE)
    manifest = load_manifests([str(tmp_path / "m.yaml")], {})
    state = asyncio.run(refresh(_Listing(*entries), manifest))  # type: ignore[arg-type]
    return build_plan(manifest, state, Target("http://x", "cn-beijing", ACCOUNT), PlanOptions(now=NOW))


@pytest.mark.parametrize("entries", [
    [("pr-1", NOW - 60), ("pr-1", NOW - 30 * 86400)],
    [("pr-1", NOW - 30 * 86400), ("pr-1", NOW - 60)],
    [("pr-1", NOW - 30 * 86400), ("pr-1", 0)],  # one copy without a creation time: unknown
    [("pr-1", NOW - 30 * 86400), ("pr-1", NOW + 10**9)],  # one in the far future
])
def test_prune_keeps_a_bucket_any_listing_of_which_says_young(entries: list[tuple[str, int]],
                                                              tmp_path: Path) -> None:
    """The last of two listings won: young then old was a delete of a 1-minute-old bucket."""
    plan = _prune_plan(tmp_path, *entries)
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-1"], plan


def test_a_bucket_listed_twice_is_deleted_once(tmp_path: Path) -> None:
    """Two identical listings gave two deletes of one address (the second a 404 mid-apply)."""
    plan = _prune_plan(tmp_path, ("pr-1", NOW - 30 * 86400), ("pr-1", NOW - 30 * 86400))
    assert [(c.address, c.action) for c in plan.changes] == [("bucket.pr-1", Action.DELETE)]


@pytest.mark.parametrize("when", [-1, -10**18, 0, NOW + 1, 10**18, NOW * 1000])
def test_prune_older_than_never_deletes_on_a_hostile_creation_time(when: int, tmp_path: Path) -> None:
    """Negative, missing, future and millisecond times: kept, never deleted."""
    plan = _prune_plan(tmp_path, ("pr-1", when))
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-1"], plan
