"""The live identifiers of the declared resources, for the next job of a pipeline
(`reconciler output`): each bucket's TRN, endpoint host and creation time, each index's
TRN and attributes.

The values are plain data (rendered by render/output.py); `read_outputs` does the reads:
one GetVectorBucket per declared bucket and one GetIndex per declared index, concurrently.
A declared resource that does not exist is an error naming every one that is missing, so a
deploy job never starts against half an environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.errors import RefusedError
from reconciler.rules.kinds import bucket_address, index_address

if TYPE_CHECKING:
    from reconciler.client.protocol import OutputApi
    from reconciler.manifest import Manifest

FORMAT_VERSION = "1.0"


@dataclass(frozen=True)
class IndexOutput:
    name: str
    trn: str
    creation_time: int  # Unix seconds, as the service answers
    dimension: int
    distance_metric: str
    data_type: str
    non_filterable_metadata_keys: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"trn": self.trn, "creation_time": rfc3339(self.creation_time), "dimension": self.dimension,
                "distance_metric": self.distance_metric, "data_type": self.data_type,
                "non_filterable_metadata_keys": sorted(self.non_filterable_metadata_keys)}


@dataclass(frozen=True)
class BucketOutput:
    name: str
    trn: str
    endpoint: str | None  # host[:port] clients connect to; None on the embedded emulator
    creation_time: int
    indexes: tuple[IndexOutput, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"trn": self.trn, "endpoint": self.endpoint, "creation_time": rfc3339(self.creation_time),
                "indexes": {i.name: i.to_dict() for i in self.indexes}}


@dataclass(frozen=True)
class Outputs:
    target: dict[str, Any]  # Target.to_dict(): no credentials
    buckets: tuple[BucketOutput, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of schemas/output.schema.json."""
        return {"format_version": FORMAT_VERSION, "target": dict(self.target),
                "buckets": {b.name: b.to_dict() for b in self.buckets}}


# What RFC 3339 can write (years 1 to 9999); the service's int64 can say more
_FIRST, _LAST = -62135596800, 253402300799


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(action: str, address: str, seconds: int) -> int:
    """The service's creationTime, refused when no date can show it (1e17 was an OSError)."""
    if not _FIRST <= seconds <= _LAST:
        raise RefusedError(f"{action}: {address}: the service answered creationTime {seconds}, which is not a "
                           "time (past year 9999 or before year 1)")
    return seconds


class MissingResources(RefusedError):
    """Declared resources that do not exist: `output` names each (exit 1)."""

    def __init__(self, addresses: list[str]):
        self.addresses = addresses
        n = len(addresses)
        super().__init__(f"{n} declared resource{'s' if n != 1 else ''} not found: {', '.join(addresses)}; "
                         "run `reconciler apply` first")


async def read_outputs(client: OutputApi, manifest: Manifest, target: dict[str, Any],
                       endpoint_of: Callable[[str], str | None], *, parallelism: int = 10) -> Outputs:
    """Read what `manifest` declares; `endpoint_of(bucket)` gives the bucket's endpoint host."""
    import asyncio

    from reconciler.errors import NotFoundError
    from reconciler.util.tasks import all_of

    gate = asyncio.Semaphore(parallelism)
    missing: list[str] = []

    async def index(bucket: str, name: str) -> IndexOutput | None:
        async with gate:
            try:
                i = await client.get_index(bucket, name)
            except NotFoundError:
                missing.append(index_address(bucket, name))
                return None
        created = _time("GetIndex", index_address(bucket, name), i.creation_time)
        return IndexOutput(name, i.trn, created, i.dimension, i.distance_metric, i.data_type,
                           tuple(i.non_filterable_metadata_keys))

    async def bucket(spec: Any) -> BucketOutput | None:
        async with gate:
            try:
                b = await client.get_vector_bucket(spec.name)
            except NotFoundError:
                missing.append(bucket_address(spec.name))
                return None  # its indexes cannot exist either: one line names the bucket
        found = await all_of(*(index(spec.name, i.name) for i in spec.indexes)) if spec.indexes else ()
        return BucketOutput(spec.name, b.trn, endpoint_of(spec.name),
                            _time("GetVectorBucket", bucket_address(spec.name), b.creation_time),
                            tuple(sorted((i for i in found if i is not None), key=lambda i: i.name)))

    specs = sorted(manifest.buckets, key=lambda b: b.name)
    read = await all_of(*(bucket(s) for s in specs)) if specs else ()
    if missing:
        raise MissingResources(sorted(missing))
    return Outputs(target, tuple(b for b in read if b is not None))
