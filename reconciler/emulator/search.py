"""QueryVectors: exact top-K in float32 over a cached matrix per index.

Distances (WIRE.md §0): euclidean is the *squared* L2 distance, cosine is 1 - cosine
similarity, both in float32. The reference's own example ([0.1]*5 against [0.2]*5 gives
0.050000004) is the float32 squared distance.

Speed: a query is one BLAS matrix-vector product over the whole index plus an
argpartition; no Python loop runs over vectors. The float32 matrix (rows pre-normalised
for cosine, squared norms kept for euclidean) and the key list are cached per index and
reused until the index's version in the store changes, so repeated queries on 100k x 768
never touch SQLite beyond one version lookup. Metadata for filters is parsed once per
version, only when a filtered query needs it.

Euclidean ranking uses |x|^2 - 2x.q + |q|^2 to find candidates, then recomputes the
candidates' distances directly as sum((x - q)^2): the expansion alone loses digits to
cancellation, and exactness is the point of an emulator.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reconciler.emulator.filters import Filter
from reconciler.emulator.store import IndexRow, Store

_EPS32 = float(np.finfo(np.float32).eps)


@dataclass
class _Entry:
    """The searchable form of one index at one version."""

    version: int
    keys: list[str]
    matrix: np.ndarray  # (n, d) float32, unit rows for cosine
    sq_norms: np.ndarray | None  # (n,) float32, euclidean only
    metadata: list[dict[str, Any]] | None = field(default=None)

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes) + (0 if self.sq_norms is None else int(self.sq_norms.nbytes))


def _build(index: IndexRow, version: int, keys: list[str], blobs: list[bytes]) -> _Entry:
    # a bytearray is writable, so normalising in place needs no second 300 MB copy
    matrix = np.frombuffer(bytearray().join(blobs), dtype="<f4").reshape(len(keys), index.dimension)
    sq_norms = np.einsum("ij,ij->i", matrix, matrix, dtype=np.float32)
    if index.distance_metric == "euclidean":
        return _Entry(version, keys, matrix, sq_norms)
    norms = np.sqrt(sq_norms)
    norms[norms == 0] = 1.0  # PutVectors refuses zero vectors on cosine indexes; be safe anyway
    matrix /= norms[:, None]
    return _Entry(version, keys, matrix, None)


def _top_k(distances: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k smallest distances, nearest first, ties broken by key order."""
    if k < distances.size:
        part = np.argpartition(distances, k - 1)[:k]
    else:
        part = np.arange(distances.size)
    # positions follow key order, so lexsort on (position, distance) breaks ties by key
    order: np.ndarray = part[np.lexsort((part, distances[part]))]
    return order


def cosine_distances(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of each unit row of `matrix` with `query`, in float32."""
    unit = query / np.float32(np.linalg.norm(query))
    out: np.ndarray = np.float32(1.0) - matrix @ unit.astype(np.float32)
    return out


def euclidean_distances(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Squared L2 distance of each row of `matrix` to `query`, computed directly in float32."""
    diff = matrix - query
    out: np.ndarray = np.einsum("ij,ij->i", diff, diff, dtype=np.float32)
    return out


def _euclidean_top_k(entry: _Entry, rows: np.ndarray | None, query: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    matrix = entry.matrix if rows is None else entry.matrix[rows]
    assert entry.sq_norms is not None
    sq = entry.sq_norms if rows is None else entry.sq_norms[rows]
    q2 = np.float32(query @ query)
    approx = sq - np.float32(2.0) * (matrix @ query) + q2
    if k < approx.size:
        kth = float(np.partition(approx, k - 1)[k - 1])
        # bound on the expansion's float32 rounding error, generous by design
        tol = (float(sq.max()) + float(q2)) * _EPS32 * (2 * query.size + 16)
        candidates = np.flatnonzero(approx <= kth + tol)
    else:
        candidates = np.arange(approx.size)
    exact = euclidean_distances(matrix[candidates], query)
    best = _top_k(exact, k)
    positions = candidates[best]
    return (positions if rows is None else rows[positions]), exact[best]


class VectorSearch:
    """Per-index cache of float32 matrices and the top-K search over them."""

    def __init__(self, store: Store, max_bytes: int = 2 << 30) -> None:
        self._store = store
        self._max_bytes = max_bytes
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _entry(self, index: IndexRow) -> _Entry:
        version = self._store.index_version(index)
        with self._lock:
            entry = self._entries.get(index.id)
            if entry is not None and entry.version == version:
                self._entries.move_to_end(index.id)
                return entry
        version, keys, blobs = self._store.load_vectors(index)
        entry = _build(index, version, keys, blobs)
        with self._lock:
            self._entries[index.id] = entry
            self._entries.move_to_end(index.id)
            while len(self._entries) > 1 and sum(e.nbytes for e in self._entries.values()) > self._max_bytes:
                self._entries.popitem(last=False)
        return entry

    def _metadata(self, index: IndexRow, entry: _Entry) -> list[dict[str, Any]] | None:
        """Parsed metadata in key order, or None if the index changed since `entry` was built."""
        if entry.metadata is None:
            version, keys, texts = self._store.load_metadata(index)
            if version != entry.version or keys != entry.keys:
                return None
            entry.metadata = [json.loads(t) if t else {} for t in texts]
        return entry.metadata

    def query(self, index: IndexRow, query: np.ndarray, k: int, flt: Filter | None = None
              ) -> list[tuple[str, float]]:
        """QueryVectors: the k nearest (key, distance) pairs, nearest first."""
        entry = self._entry(index)
        rows: np.ndarray | None = None
        if flt is not None:
            metadata = self._metadata(index, entry)
            while metadata is None:  # written to in between: rebuild until both agree
                entry = self._entry(index)
                metadata = self._metadata(index, entry)
            mask = np.fromiter((flt.matches(md) for md in metadata), dtype=bool, count=len(metadata))
            rows = np.flatnonzero(mask)
        total = entry.matrix.shape[0] if rows is None else rows.size
        if total == 0:
            return []
        query = query.astype(np.float32, copy=False)
        if index.distance_metric == "cosine":
            matrix = entry.matrix if rows is None else entry.matrix[rows]
            distances = cosine_distances(matrix, query)
            best = _top_k(distances, k)
            # unit rows in float32 can give 1 - cos a hair below zero for the query itself
            positions, values = (best if rows is None else rows[best]), np.maximum(distances[best], np.float32(0))
        else:
            positions, values = _euclidean_top_k(entry, rows, query, k)
        return [(entry.keys[p], float(str(v))) for p, v in zip(positions.tolist(), values, strict=True)]

    def forget(self, index_id: int) -> None:
        """Drop a cached index (DeleteIndex); the version check alone would also catch it."""
        with self._lock:
            self._entries.pop(index_id, None)
