"""Live state: what exists in the service, read concurrently and only as far as needed.

`refresh` reads the buckets a manifest's scope names: the declared ones and those of the
account's bucket list that a `prune.buckets` scope claims (the list also names the buckets
nobody manages). Per bucket it lists
indexes and reads the policy in parallel, then reads each index it must compare or
may delete. A 404 means absent. Everything is gathered under one bounded semaphore.
`read_buckets` is the same read for `export`, of whole buckets, where a named bucket that
is not there is an error. `read_objects` re-reads what a saved plan names. What they
return is data of `reconciler.state.model`, which the planner reads without this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TypeVar

from reconciler.client.models import VectorBucketSummary
from reconciler.client.protocol import RefreshApi
from reconciler.errors import NotFoundError
from reconciler.manifest import Manifest
from reconciler.rules.kinds import index_attrs, parse_address
from reconciler.state.model import LiveBucket, LiveIndex, LiveState, in_prune_scope, parse_live_policy
from reconciler.util.tasks import all_of

T = TypeVar("T")

# What the reads report their progress to: (reads done, reads started). The CLI's
# `Progress.update` is one.
ProgressCallback = Callable[[int, int], None]


class _Reader:
    """Bounded-parallel reads with a progress count."""

    def __init__(self, client: RefreshApi, parallelism: int, progress: ProgressCallback | None):
        self.client = client
        self._sem = asyncio.Semaphore(max(1, parallelism))
        self._progress = progress
        self.started = 0
        self.done = 0

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        self.started += 1
        async with self._sem:
            try:
                return await call()
            finally:
                self.done += 1
                if self._progress:
                    self._progress(self.done, self.started)

    async def maybe(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """A read where 404 means absent."""
        try:
            return await self.run(call)
        except NotFoundError:
            return None


async def refresh(
    client: RefreshApi,
    manifest: Manifest,
    *,
    parallelism: int = 10,
    only_buckets: set[str] | None = None,
    progress: ProgressCallback | None = None,
) -> LiveState:
    """Read the live state the manifest's scope needs.

    The account's buckets are listed once (ListVectorBuckets): the prune scope needs the
    list, and the plan names every live bucket the manifests do not manage, so a removed
    bucket block never disappears silently. `only_buckets` (--target) narrows the read,
    and skips the list unless a prune scope needs it: a partial plan says it is partial.
    """
    reader = _Reader(client, parallelism, progress)
    state = LiveState()
    names = {b.name for b in manifest.buckets}
    if manifest.prune_buckets or only_buckets is None:
        listed = _note_listed(state, await reader.run(lambda: client.all_vector_buckets()))
        names |= {n for n in listed if in_prune_scope(n, manifest.prune_buckets)}
    if only_buckets is not None:
        names &= only_buckets

    async def read_bucket(name: str) -> None:
        spec = manifest.bucket(name)
        wanted = {i.name for i in spec.indexes} if spec else None  # None: read them all
        state.record(name, await _read_bucket(reader, name, wanted_indexes=wanted,
                                              all_indexes=not spec or spec.prune_indexes))

    await all_of(*(read_bucket(n) for n in sorted(names)))
    return state


def _note_listed(state: LiveState, listed: Iterable[VectorBucketSummary]) -> tuple[str, ...]:
    """The account's list into `state`, each name once. An endpoint that lists a bucket
    twice does not get two deletes of it, nor the older of two creation times: the
    youngest counts, and an unknown one (0) over any, so prune.olderThan never deletes on
    the older claim."""
    created: dict[str, int] = {}
    for b in listed:
        seen = created.get(b.name)
        created[b.name] = b.creation_time if seen is None else 0 if 0 in (seen, b.creation_time) \
            else max(seen, b.creation_time)
    state.listed = tuple(sorted(created))
    state.created = created
    return state.listed


async def read_buckets(
    client: RefreshApi, names: Iterable[str] = (), *, prefix: str | None = None,
    list_account: bool = False, parallelism: int = 10,
) -> LiveState:
    """Whole buckets (every index read): those named, plus, with `list_account`, those the
    account lists (under `prefix`). A bucket that is not there raises NotFoundError: it was
    asked for by name, or was deleted while being read."""
    reader = _Reader(client, parallelism, None)
    state = LiveState()
    wanted = set(names)
    if list_account:
        wanted.update(_note_listed(state, await reader.run(lambda: client.all_vector_buckets(prefix=prefix))))

    async def one(name: str) -> None:
        state.record(name, await _read_bucket(reader, name, wanted_indexes=None, all_indexes=True, must_exist=True))

    await all_of(*(one(n) for n in sorted(wanted)))
    return state


async def _read_bucket(
    reader: _Reader, name: str, *, wanted_indexes: set[str] | None, all_indexes: bool, must_exist: bool = False
) -> LiveBucket | None:
    """ListIndexes doubles as the existence check (404 VectorBucketNotFound); with
    `must_exist` that 404 is raised instead of meaning absent."""
    client = reader.client
    listing, policy_text = await all_of(
        (reader.run if must_exist else reader.maybe)(lambda: client.all_indexes(name)),
        reader.maybe(lambda: client.get_vector_bucket_policy(name)),
    )
    if listing is None:
        return None
    listed = sorted(i.name for i in listing)
    to_read = listed if all_indexes else [n for n in listed if wanted_indexes and n in wanted_indexes]
    read = await all_of(*(reader.maybe(partial(client.get_index, name, n)) for n in to_read))
    indexes = {n: LiveIndex(name, n, None) for n in listed}
    for idx in read:
        if idx is not None:  # deleted between list and get: treat as listed-only
            indexes[idx.name] = LiveIndex(
                name, idx.name,
                index_attrs(idx),
            )
    policy = parse_live_policy(policy_text) if policy_text is not None else None
    return LiveBucket(name, indexes, policy, policy_text)


async def probe_holds_vectors(
    client: RefreshApi, pairs: Iterable[tuple[str, str]], *, parallelism: int = 10
) -> dict[tuple[str, str], bool | None]:
    """ListVectors maxResults=1 per (bucket, index): does it hold any vector?"""
    reader = _Reader(client, parallelism, None)

    async def probe(bucket: str, index: str) -> bool | None:
        try:
            page = await reader.run(lambda: client.list_vectors(bucket, index, max_results=1))
        except NotFoundError:
            return None
        return bool(page.items)

    pairs = list(pairs)
    results = await all_of(*(probe(b, i) for b, i in pairs))
    return dict(zip(pairs, results, strict=True))


async def read_objects(
    client: RefreshApi, addresses: Iterable[str], *, parallelism: int = 10
) -> LiveState:
    """Re-read exactly the objects a saved plan's fingerprints name."""
    wanted: dict[str, set[str]] = {}
    for address in addresses:
        _, bucket, index = parse_address(address)
        wanted.setdefault(bucket, set())
        if index:
            wanted[bucket].add(index)
    reader = _Reader(client, parallelism, None)
    state = LiveState()

    async def one(name: str) -> None:
        state.record(name, await _read_bucket(reader, name, wanted_indexes=wanted[name], all_indexes=False))

    await all_of(*(one(n) for n in sorted(wanted)))
    return state
