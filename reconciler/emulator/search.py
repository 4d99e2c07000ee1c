"""QueryVectors: exact top-K over a cached float32 matrix per index.

Distances (README "Wire protocol" §0): euclidean is the *squared* L2 distance, cosine is 1 - cosine
similarity, both in float32. The reference's own example ([0.1]*5 against [0.2]*5 gives
0.050000004) is the float32 squared distance. int8 indexes are searched the same way on
the same values (an int8 value is exact in float32).

Numbers: norms are computed in float64, because the squared norm of a float32 vector can
underflow ([1e-30, 0]) or overflow ([3e38, 3e38]) in float32, which made cosine answer
1.0 for both against [1, 0] and NaN for a tiny query. Rows are normalised in float64 and
stored as unit float32 rows. A euclidean distance beyond float32 (3e38 against -3e38) is
computed in float64 and returned as that float64 value. No distance is ever NaN or
infinite (the app also refuses to write one into JSON).

Speed: a query is one BLAS matrix-vector product over the whole index plus an
argpartition; no Python loop runs over vectors. The float32 matrix (rows pre-normalised
for cosine, squared norms kept for euclidean) and the key list are cached per index and
reused until the index's version in the store changes, so repeated queries on 100k x 768
never touch SQLite beyond one version lookup. Metadata for filters is parsed once per
version, only when a filtered query needs it, into numpy columns (filters.Columns).

Euclidean ranking uses |x|^2 - 2x.q + |q|^2 to find candidates, then recomputes the
candidates' distances directly as sum((x - q)^2): the expansion alone loses digits to
cancellation, and exactness is the point of an emulator.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from reconciler.emulator.filters import Columns, Filter
from reconciler.emulator.store import IndexRow, Store

_EPS32 = float(np.finfo(np.float32).eps)
_CHUNK = 8192  # rows per float64 pass, so no float64 copy of a whole 300 MB matrix is made
# below this, |x|^2 + 2|x||q| + |q|^2 cannot overflow float32 (max 3.4e38)
_SAFE_SQ_NORM = 1e36


@dataclass
class _Entry:
    """The searchable form of one index at one version."""

    version: int
    keys: list[str]
    matrix: np.ndarray  # (n, d) float32, unit rows for cosine
    sq_norms: np.ndarray | None  # (n,) float64, euclidean only
    columns: Columns | None = field(default=None)

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes) + (0 if self.sq_norms is None else int(self.sq_norms.nbytes))


def _sq_norms64(matrix: np.ndarray) -> np.ndarray:
    out = np.empty(matrix.shape[0], dtype=np.float64)
    for lo in range(0, matrix.shape[0], _CHUNK):
        part = matrix[lo:lo + _CHUNK].astype(np.float64)
        out[lo:lo + _CHUNK] = np.einsum("ij,ij->i", part, part)
    return out


def _build(index: IndexRow, version: int, keys: list[str], blobs: list[bytes]) -> _Entry:
    raw = bytearray().join(blobs)
    if index.data_type == "int8":
        matrix = np.frombuffer(raw, dtype="i1").astype(np.float32).reshape(len(keys), index.dimension)
    else:  # a bytearray is writable, so normalising in place needs no second 300 MB copy
        matrix = np.frombuffer(raw, dtype="<f4").reshape(len(keys), index.dimension)
    sq_norms = _sq_norms64(matrix)
    if index.distance_metric == "euclidean":
        return _Entry(version, keys, matrix, sq_norms)
    norms = np.sqrt(sq_norms)
    norms[norms == 0] = 1.0  # PutVectors refuses zero vectors on cosine indexes; be safe anyway
    for lo in range(0, matrix.shape[0], _CHUNK):
        part = matrix[lo:lo + _CHUNK]
        part[...] = part.astype(np.float64) / norms[lo:lo + _CHUNK, None]
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


def unit_query(query: np.ndarray) -> np.ndarray:
    """The query scaled to unit length, normalised in float64 (a float32 norm of [1e-30, 0]
    is 0). The caller has refused a zero vector."""
    q64 = query.astype(np.float64)
    unit: np.ndarray = (q64 / np.sqrt(q64 @ q64)).astype(np.float32)
    return unit


def cosine_distances(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of each unit row of `matrix` with `query`, in float32."""
    out: np.ndarray = np.float32(1.0) - matrix @ unit_query(query)
    return out


def euclidean_distances(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Squared L2 distance of each row of `matrix` to `query`, computed directly in float32."""
    diff = matrix - query
    out: np.ndarray = np.einsum("ij,ij->i", diff, diff, dtype=np.float32)
    return out


def _euclidean64(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Squared L2 distances in float64 (finite for any float32 inputs), chunk by chunk."""
    q64 = query.astype(np.float64)
    out = np.empty(matrix.shape[0], dtype=np.float64)
    for lo in range(0, matrix.shape[0], _CHUNK):
        diff = matrix[lo:lo + _CHUNK].astype(np.float64) - q64
        out[lo:lo + _CHUNK] = np.einsum("ij,ij->i", diff, diff)
    return out


def _euclidean_top_k(entry: _Entry, rows: np.ndarray | None, query: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    matrix = entry.matrix if rows is None else entry.matrix[rows]
    assert entry.sq_norms is not None
    sq = entry.sq_norms if rows is None else entry.sq_norms[rows]
    q2 = float(query.astype(np.float64) @ query.astype(np.float64))
    if sq.max() >= _SAFE_SQ_NORM or q2 >= _SAFE_SQ_NORM:  # float32 would overflow: all in float64
        exact64 = _euclidean64(matrix, query)
        best = _top_k(exact64, k)
        return (best if rows is None else rows[best]), exact64[best]
    sq32 = sq.astype(np.float32)
    approx = sq32 - np.float32(2.0) * (matrix @ query) + np.float32(q2)
    if k < approx.size:
        kth = float(np.partition(approx, k - 1)[k - 1])
        # bound on the expansion's float32 rounding error, generous by design
        tol = (float(sq.max()) + q2) * _EPS32 * (2 * query.size + 16)
        candidates = np.flatnonzero(approx <= kth + tol)
    else:
        candidates = np.arange(approx.size)
    exact = euclidean_distances(matrix[candidates], query)
    best = _top_k(exact, k)
    positions = candidates[best]
    return (positions if rows is None else rows[positions]), exact[best]


def _json_distance(value: np.floating) -> float:
    """A distance for the answer: the shortest decimal of its float32 value (0.050000004),
    or the float64 value where float32 has no room for it."""
    with np.errstate(over="ignore"):
        as32 = np.float32(value)
    if np.isfinite(as32):
        return float(str(as32))
    return float(value)


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

    def _columns(self, index: IndexRow, entry: _Entry) -> Columns | None:
        """Filter columns in key order, or None if the index changed since `entry` was built."""
        if entry.columns is None:
            version, keys, texts = self._store.load_metadata(index)
            if version != entry.version or keys != entry.keys:
                return None
            entry.columns = Columns([json.loads(t) if t else {} for t in texts])
        return entry.columns

    def query(self, index: IndexRow, query: np.ndarray, k: int, flt: Filter | None = None
              ) -> list[tuple[str, float]]:
        """QueryVectors: the k nearest (key, distance) pairs, nearest first."""
        entry = self._entry(index)
        rows: np.ndarray | None = None
        if flt is not None:
            columns = self._columns(index, entry)
            while columns is None:  # written to in between: rebuild until both agree
                entry = self._entry(index)
                columns = self._columns(index, entry)
            columns.prepare(flt.keys())
            rows = np.flatnonzero(flt.mask(columns))
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
        return [(entry.keys[p], _json_distance(v)) for p, v in zip(positions.tolist(), values, strict=True)]

    def forget(self, index_id: int) -> None:
        """Drop a cached index (DeleteIndex); the version check alone would also catch it."""
        with self._lock:
            self._entries.pop(index_id, None)
