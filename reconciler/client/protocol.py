"""What the engine needs of a client, as Protocols: VectorsClient has it, and so must a fake.

Each consumer asks for no more than it calls: `RefreshApi` the reads of state/refresh.py (refresh,
probe, re-read), `ApplyApi` the calls of apply/executor.py, `VectorsApi` both (engine.py). A test's
fake declares which one it stands in for with a checked assignment (`_: ApplyApi = Fake()`),
so mypy says when the fake and the real client drift apart. Buckets and indexes are
positional-only: a fake may name them as it likes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from reconciler.client.models import Index, IndexSummary, Page, Vector, VectorBucket, VectorBucketSummary


class RefreshApi(Protocol):
    async def all_vector_buckets(self, *, prefix: str | None = None) -> list[VectorBucketSummary]: ...

    async def all_indexes(self, bucket: str, /, *, prefix: str | None = None) -> list[IndexSummary]: ...

    async def get_index(self, bucket: str, index: str, /) -> Index: ...

    async def get_vector_bucket_policy(self, bucket: str, /) -> str: ...

    async def list_vectors(self, bucket: str, index: str, /, *, max_results: int | None = None) -> Page[Vector]: ...

    def service_time(self) -> datetime | None:
        """The service's time per its latest answer's Date header; None when unknown."""
        ...

    def local_time(self) -> datetime:
        """This machine's clock as the client reads it (aware, UTC)."""
        ...


class ApplyApi(Protocol):
    async def create_vector_bucket(self, bucket: str, /) -> None: ...

    async def get_vector_bucket(self, bucket: str, /) -> VectorBucket: ...

    async def delete_vector_bucket(self, bucket: str, /) -> None: ...

    async def create_index(self, bucket: str, index: str, /, *, dimension: int, distance_metric: str,
                           data_type: str = "float32",
                           non_filterable_metadata_keys: Sequence[str] | None = None) -> None: ...

    async def get_index(self, bucket: str, index: str, /) -> Index: ...

    async def delete_index(self, bucket: str, index: str, /) -> None: ...

    async def put_vector_bucket_policy(self, bucket: str, policy: str, /) -> None: ...

    async def delete_vector_bucket_policy(self, bucket: str, /) -> None: ...


class VectorsApi(RefreshApi, ApplyApi, Protocol):
    """Everything the engine's workflows call: a refresh, then an apply."""


class OutputApi(Protocol):
    """What `reconciler output` reads: the declared buckets and indexes, one Get each."""

    async def get_vector_bucket(self, bucket: str, /) -> VectorBucket: ...

    async def get_index(self, bucket: str, index: str, /) -> Index: ...
