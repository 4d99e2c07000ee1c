"""Resource kinds are described once (`reconciler.rules.kinds`): every consumer reads it.

A new index attribute or a new kind is added in the description alone, and the planner,
drift, the executor, addresses and `destroys_data` all follow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import HANDLERS, execute
from reconciler.manifest import BucketSpec, IndexSpec, Manifest, Source
from reconciler.plan.build import build_plan, destroying_indexes, link
from reconciler.plan.drift import drift_report
from reconciler.plan.model import Action, Change, Plan, Target, destroys_data
from reconciler.render.drift import drift_text
from reconciler.rules.kinds import INDEX, KINDS, Attribute, ResourceKind, parse_address
from reconciler.state.model import LiveBucket, LiveIndex, LiveState

TARGET = Target("http://x", "cn-beijing", "2100000000")
SRC = Source("m.yaml", 1, 1)


class EncryptedIndexSpec(IndexSpec):
    """An IndexSpec with one attribute more (a NamedTuple's subclass keeps its fields, so
    the new one is an instance attribute)."""

    encryption: str

    def __new__(cls, *args: Any, encryption: str = "none", **kwargs: Any) -> EncryptedIndexSpec:
        spec = super().__new__(cls, *args, **kwargs)
        spec.encryption = encryption
        return spec


@dataclass(frozen=True)
class LiveModel:
    data_type: str
    dimension: int
    distance_metric: str
    non_filterable_metadata_keys: tuple[str, ...]
    encryption: str


@pytest.fixture
def with_encryption() -> Iterator[None]:
    """The index description gains `encryption`, fixed at creation (as in S3 Vectors)."""
    old = INDEX.attributes
    object.__setattr__(INDEX, "attributes", (*old, Attribute("encryption", "encryption", forces_replacement=True)))
    try:
        yield
    finally:
        object.__setattr__(INDEX, "attributes", old)


def _manifest(encryption: str) -> Manifest:
    spec = EncryptedIndexSpec("b", "docs", 4, "cosine", "float32", frozenset(), False, SRC, encryption=encryption)
    return Manifest(None, None, (), (BucketSpec("b", False, False, None, (spec,), SRC),), ("m.yaml",), ())


def _live(encryption: str) -> LiveState:
    attrs = INDEX.attrs_of(LiveModel("float32", 4, "cosine", (), encryption))
    return LiveState(buckets={"b": LiveBucket("b", {"docs": LiveIndex("b", "docs", attrs)}, None)})


def test_an_added_attribute_reaches_planner_drift_and_executor(with_encryption: None) -> None:
    plan = build_plan(_manifest("kms"), _live("none"), TARGET)
    (change,) = plan.changes
    assert (change.action, change.forces_replacement, change.destroys_data) == (Action.REPLACE, ("encryption",), True)
    assert change.reason == "encryption: none → kms (fixed at creation: forces replacement)"
    assert destroying_indexes(plan) == {"index.b/docs": ("b", "docs")}

    text = drift_text(drift_report(plan))
    assert "~ index.b/docs: encryption: none → kms" in text
    assert "forces replacement" in text.split("encryption", 2)[2]  # the body marks the attribute itself

    sent: list[dict[str, Any]] = []

    class Client:
        async def delete_index(self, bucket: str, name: str) -> None:
            pass

        async def create_index(self, bucket: str, name: str, **kw: Any) -> None:
            sent.append(kw)

    result = asyncio.run(execute(plan, Client()))  # type: ignore[arg-type]
    assert result.ok
    assert sent == [{"data_type": "float32", "dimension": 4, "distance_metric": "cosine",
                     "non_filterable_metadata_keys": None, "encryption": "kms"}]

    assert build_plan(_manifest("kms"), _live("kms"), TARGET).changes == ()  # in sync when it matches


def test_without_the_attribute_the_difference_is_not_seen() -> None:
    # the same estate with the stock description: encryption is not an attribute, so no change
    assert "encryption" not in INDEX.attrs_of(LiveModel("float32", 4, "cosine", (), "none"))
    assert build_plan(_manifest("kms"), _live("none"), TARGET).changes == ()


@pytest.fixture
def with_alias_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new kind, named inside a bucket and created after everything else in it."""
    alias = ResourceKind("alias", attributes=(Attribute("target", "target"),), actions=("create", "delete"),
                         delete_destroys_data=False, named=True, address_help="alias.BUCKET/NAME")
    monkeypatch.setitem(KINDS, "alias", alias)


def test_a_new_kind_gets_addresses_order_and_safety_from_its_description(with_alias_kind: None) -> None:
    assert parse_address("alias.b/x") == ("alias", "b", "x")
    with pytest.raises(ValueError, match=r"want bucket.NAME, index.BUCKET/NAME, policy.BUCKET or alias.BUCKET/NAME"):
        parse_address("nope.b")
    with pytest.raises(ValueError, match=r"want alias.BUCKET/NAME"):
        parse_address("alias.b")
    assert not destroys_data("alias", Action.DELETE) and destroys_data("index", Action.DELETE)

    def c(address: str, action: Action) -> Change:
        return Change(address, parse_address(address)[0], action, None, None, "r")

    up = link([c("alias.b/x", Action.CREATE), c("policy.b", Action.CREATE), c("index.b/i", Action.CREATE),
               c("bucket.b", Action.CREATE)])
    assert [(x.address, x.depends_on) for x in up] == [
        ("bucket.b", ()), ("index.b/i", ("bucket.b",)), ("policy.b", ("bucket.b", "index.b/i")),
        ("alias.b/x", ("bucket.b", "index.b/i", "policy.b"))]
    down = link([c("bucket.b", Action.DELETE), c("index.b/i", Action.DELETE), c("alias.b/x", Action.DELETE)])
    assert {x.address: x.depends_on for x in down} == {
        "alias.b/x": (), "index.b/i": ("alias.b/x",), "bucket.b": ("alias.b/x", "index.b/i")}
    # the executor has no handler for it yet: such a plan is refused before any call
    with pytest.raises(ValueError, match="no handler"):
        asyncio.run(execute(Plan(TARGET, (c("alias.b/x", Action.CREATE),)), object()))  # type: ignore[arg-type]


def test_every_consumer_list_comes_from_the_description() -> None:
    assert set(HANDLERS) == {(k.name, Action(a)) for k in KINDS.values() for a in k.actions}
    assert {k for k in KINDS if any(destroys_data(k, Action(a)) for a in KINDS[k].actions)} == {"bucket", "index"}
    assert INDEX.forces_replacement == ("dataType", "dimension", "distanceMetric", "nonFilterableMetadataKeys")
    for kind in KINDS.values():
        address = kind.address("b", "n")
        assert parse_address(address) == (kind.name, "b", "n" if kind.named else None)


def test_policy_documents_compare_type_strictly() -> None:
    """`true` in the manifest and `1` live are different documents (the service sees them
    differently), though Python's `==` calls them equal: the plan updates the policy."""
    def doc(value: object) -> dict[str, Any]:
        return {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": ["2100000000/ci"],
                "Action": ["tosvectors:GetIndex"], "Resource": ["trn:tos:cn-beijing:2100000000:bucket/b"],
                "Condition": {"Bool": {"tos:SecureTransport": value}}}]}

    def plan(declared: object, live: object) -> Plan:
        manifest = Manifest(None, None, (), (BucketSpec("b", False, False, doc(declared), (), SRC),), ("m.yaml",), ())
        return build_plan(manifest, LiveState(buckets={"b": LiveBucket("b", {}, doc(live))}), TARGET)

    assert [(c.address, c.action) for c in plan(True, 1).changes] == [("policy.b", Action.UPDATE)]
    assert plan(True, True).changes == ()


@pytest.mark.parametrize("module", ["plan/build", "plan/model", "plan/drift", "apply/executor", "engine",
                                    "apply/guardrails", "state/refresh",
                                    "render/drift", "render/text", "render/markdown", "render/_common"])
def test_consumers_do_not_spell_index_attributes(module: str) -> None:
    """An index attribute's name lives in its description only: no consumer lists them."""
    source = (Path(__file__).resolve().parents[2] / "reconciler" / f"{module}.py").read_text()
    spelled = [a.name for a in INDEX.attributes if f'"{a.name}"' in source or f"'{a.name}'" in source]
    assert spelled == []


def test_every_index_attribute_is_a_field_of_the_spec() -> None:
    """attrs_of reads attributes by name, and IndexSpec is a NamedTuple: an attribute named
    `count` or `index` that is not a field would read the tuple's method, not fail."""
    assert {a.field for a in INDEX.attributes} <= set(IndexSpec._fields)
