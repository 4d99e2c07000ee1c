"""Resource kinds, described once.

Every consumer reads these descriptions instead of special-casing kinds: addresses
(`parse_address` below), dependency order and selection (`plan.build`), which attributes
force a replacement (`plan.build`, the drift renderer), whether a change destroys data
(`plan.model.destroys_data`, hence the guardrails), which indexes are probed for vectors
(`plan.build.destroying_indexes`) and which steps the executor must be able to run.
A new attribute is one `Attribute` line here (plus the manifest schema and the wire).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.rules.policy import canonical_policy, policies_equal


def _same(value: Any) -> Any:
    return value


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b)


def _documents_equal(a: Any, b: Any) -> bool:
    """Policy documents compare by meaning and type-strictly (1 is not true), which `==`
    on the canonical forms is not (in Python 1 == True)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return policies_equal(a, b)
    return bool(a == b)


def _as_set(value: Any) -> list[Any]:
    return sorted(set(value or ()))


@dataclass(frozen=True)
class Attribute:
    """One comparable attribute: its name in plans (`dataType`), the field that holds it on
    a manifest spec, a live model and the client's create call (`data_type`), how values
    normalise before comparison, and whether a difference can only be fixed by replacing."""

    name: str
    field: str
    normalise: Callable[[Any], Any] = _same
    forces_replacement: bool = False
    send_empty: bool = True  # False: an empty value is sent as absent (the SDK omits it)
    equal: Callable[[Any, Any], bool] = _equal


@dataclass(frozen=True)
class ResourceKind:
    """`named`: the address carries a name inside its bucket (`index.BUCKET/NAME`); every
    kind but the bucket itself lives in a bucket. `KINDS` order is the create order within
    a bucket; deletion runs it backwards. `actions` are the changes a plan may hold for it."""

    name: str
    attributes: tuple[Attribute, ...]
    actions: tuple[str, ...]
    delete_destroys_data: bool
    named: bool = False
    probe_vectors: bool = False  # a destroying change is probed (ListVectors) for vectors
    address_help: str = ""  # the address form shown in errors

    @property
    def forces_replacement(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.forces_replacement)

    def same(self, before: dict[str, Any], after: dict[str, Any]) -> bool:
        """Whether two normalised attribute dicts describe the same object."""
        return before.keys() == after.keys() and all(a.equal(before.get(a.name), after.get(a.name))
                                                     for a in self.attributes)

    def address(self, bucket: str, name: str | None = None) -> str:
        return f"{self.name}.{bucket}/{name}" if self.named else f"{self.name}.{bucket}"

    def attrs_of(self, obj: Any) -> dict[str, Any]:
        """Comparable attributes of anything holding the fields (a spec or a live model)."""
        return {a.name: a.normalise(getattr(obj, a.field)) for a in self.attributes}

    def create_arguments(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the client's create call, from a change's `after`."""
        return {a.field: attrs[a.name] if a.send_empty or attrs[a.name] else None for a in self.attributes}


BUCKET = ResourceKind("bucket", attributes=(Attribute("name", "name"),), actions=("create", "delete"),
                      delete_destroys_data=True, address_help="bucket.NAME")
INDEX = ResourceKind(
    "index",
    attributes=(
        Attribute("dataType", "data_type", forces_replacement=True),
        Attribute("dimension", "dimension", int, forces_replacement=True),
        Attribute("distanceMetric", "distance_metric", forces_replacement=True),
        # compared as a set: the service keeps no order
        Attribute("nonFilterableMetadataKeys", "non_filterable_metadata_keys", _as_set, forces_replacement=True,
                  send_empty=False),
    ),
    actions=("create", "delete", "replace"),
    delete_destroys_data=True,
    named=True,
    probe_vectors=True,
    address_help="index.BUCKET/NAME",
)
# semantic comparison: the canonical document
POLICY = ResourceKind("policy", attributes=(Attribute("document", "document", canonical_policy,
                                                     equal=_documents_equal),),
                      actions=("create", "update", "delete"), delete_destroys_data=False,
                      address_help="policy.BUCKET")

KINDS: dict[str, ResourceKind] = {k.name: k for k in (BUCKET, INDEX, POLICY)}


def rank(kind: str) -> int:
    """Position in the create order within a bucket (deletion runs it backwards)."""
    return list(KINDS).index(kind)


def bucket_attrs(name: str) -> dict[str, Any]:
    return {"name": name}


def index_attrs(obj: Any) -> dict[str, Any]:
    """Comparable index attributes of an IndexSpec or a live Index."""
    return INDEX.attrs_of(obj)


def policy_attrs(document: dict[str, Any]) -> dict[str, Any]:
    """Comparable policy attributes: the canonical document (semantic comparison)."""
    return {"document": canonical_policy(document)}


def bucket_address(bucket: str) -> str:
    return BUCKET.address(bucket)


def index_address(bucket: str, index: str) -> str:
    return INDEX.address(bucket, index)


def policy_address(bucket: str) -> str:
    return POLICY.address(bucket)


def parse_address(address: str) -> tuple[str, str, str | None]:
    """'index.b/i' -> ('index', 'b', 'i'); 'bucket.b' -> ('bucket', 'b', None). The kinds
    and their address forms are those of `KINDS`."""
    kind, sep, rest = address.partition(".")
    described = KINDS.get(kind) if sep and rest else None
    if described is None:
        forms = [k.address_help for k in KINDS.values()]
        raise ValueError(f"not a resource address: {address!r} (want {', '.join(forms[:-1])} or {forms[-1]})")
    if described.named:
        bucket, slash, name = rest.partition("/")
        if not slash or not bucket or not name:
            raise ValueError(f"not an {kind} address: {address!r} (want {described.address_help})")
        return kind, bucket, name
    return kind, rest, None


def bucket_of(address: str) -> str:
    return parse_address(address)[1]
