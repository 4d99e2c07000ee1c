"""State of the emulator in SQLite, and the invariants of the service.

One file, `emulator.db`, in the data directory, in WAL mode. Every mutating call is one
`BEGIN IMMEDIATE ... COMMIT` transaction and returns only after COMMIT, so the app never
acknowledges a write that a `kill -9` could lose (synchronous=NORMAL in WAL mode keeps
committed transactions across a process crash; only a power cut could drop the last few).

Invariants kept here (moto's models.py): names are unique (409 ConflictException), unknown
names are 404s, a bucket with indexes cannot be deleted (409), an account holds at most
100 vector buckets (402), deleting an index deletes its vectors.

Indexes have a numeric id that is never reused and a `version` bumped in the same
transaction as any change to their vectors: search.py caches matrices by (id, version),
which stays right even when another process writes to the same file.

All methods are synchronous and serialised by one lock; callers hold no SQLite objects.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reconciler.emulator.errors import (
    ConflictException,
    ServiceQuotaExceededException,
    VectorBucketNotFound,
    VectorBucketPolicyNotFound,
    VectorIndexNotFound,
)

DB_FILE = "emulator.db"
MAX_BUCKETS_PER_ACCOUNT = 100
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    policy TEXT,
    PRIMARY KEY (account, name)
);
CREATE TABLE IF NOT EXISTS indexes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    bucket TEXT NOT NULL,
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    data_type TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    distance_metric TEXT NOT NULL,
    non_filterable TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, bucket, name)
);
CREATE TABLE IF NOT EXISTS vectors (
    index_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    data BLOB NOT NULL,
    metadata TEXT,
    PRIMARY KEY (index_id, key)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class BucketRow:
    account: str
    name: str
    creation_time: int


@dataclass(frozen=True)
class IndexRow:
    id: int
    account: str
    bucket: str
    name: str
    creation_time: int
    data_type: str
    dimension: int
    distance_metric: str
    non_filterable: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class VectorRow:
    key: str
    data: bytes | None  # little-endian float32 (int8 index: one signed byte per value), when asked for
    metadata: dict[str, Any] | None  # when asked for and present


_INDEX_COLUMNS = ("id, account, bucket, name, creation_time, data_type, dimension, "
                  "distance_metric, non_filterable, version")


def _index_row(row: Sequence[Any]) -> IndexRow:
    return IndexRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                    tuple(json.loads(row[8])), row[9])


def _bucket_exists(db: sqlite3.Connection, account: str, bucket: str) -> bool:
    return db.execute("SELECT 1 FROM buckets WHERE account=? AND name=?", (account, bucket)).fetchone() is not None


def _prefix_clause(column: str, prefix: str | None) -> tuple[str, list[Any]]:
    # substr, not LIKE: LIKE is case-insensitive for ASCII and treats % and _ as wildcards
    if not prefix:
        return "", []
    return f" AND substr({column}, 1, ?) = ?", [len(prefix), prefix]


class Store:
    """The emulator's database. `path` is a data directory, or ":memory:" for tests."""

    def __init__(self, path: str | Path) -> None:
        if str(path) == ":memory:":
            target = ":memory:"
        else:
            directory = Path(path)
            directory.mkdir(parents=True, exist_ok=True)
            target = str(directory / DB_FILE)
        self.lock = threading.RLock()
        # the lock, not sqlite3's thread check, serialises use across threads
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; committed before the caller can answer the request."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self.lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # --- buckets --------------------------------------------------------------------------

    @staticmethod
    def _require_bucket(db: sqlite3.Connection, account: str, bucket: str) -> None:
        """Inside a write: the bucket exists, or VectorBucketNotFound."""
        if not _bucket_exists(db, account, bucket):
            raise VectorBucketNotFound(bucket)

    def create_bucket(self, account: str, name: str, now: int) -> None:
        """CreateVectorBucket."""
        with self._write() as db:
            if _bucket_exists(db, account, name):
                raise ConflictException(f"vector bucket {name!r} already exists")
            (count,) = db.execute("SELECT count(*) FROM buckets WHERE account=?", (account,)).fetchone()
            if count >= MAX_BUCKETS_PER_ACCOUNT:
                raise ServiceQuotaExceededException(
                    f"an account can have at most {MAX_BUCKETS_PER_ACCOUNT} vector buckets; "
                    f"account {account} has {count}")
            db.execute("INSERT INTO buckets (account, name, creation_time) VALUES (?, ?, ?)",
                       (account, name, now))

    def get_bucket(self, account: str, name: str) -> BucketRow:
        """GetVectorBucket; also the existence check of every bucket-scoped action."""
        rows = self._read("SELECT creation_time FROM buckets WHERE account=? AND name=?", (account, name))
        if not rows:
            raise VectorBucketNotFound(name)
        return BucketRow(account, name, rows[0][0])

    def list_buckets(self, account: str, prefix: str | None, after: str | None, limit: int) -> list[BucketRow]:
        """ListVectorBuckets: names in order, after the page token's name."""
        clause, params = _prefix_clause("name", prefix)
        rows = self._read(
            f"SELECT name, creation_time FROM buckets WHERE account=? AND name>?{clause} "
            "ORDER BY name LIMIT ?", [account, after or "", *params, limit])
        return [BucketRow(account, name, created) for name, created in rows]

    def delete_bucket(self, account: str, name: str) -> None:
        """DeleteVectorBucket: only an empty bucket (no indexes) can go."""
        with self._write() as db:
            self._require_bucket(db, account, name)
            (count,) = db.execute("SELECT count(*) FROM indexes WHERE account=? AND bucket=?",
                                  (account, name)).fetchone()
            if count:
                raise ConflictException(
                    f"vector bucket {name!r} is not empty: it still has {count} "
                    f"index{'es' if count != 1 else ''}; delete them first")
            db.execute("DELETE FROM buckets WHERE account=? AND name=?", (account, name))

    # --- policies -------------------------------------------------------------------------

    def put_policy(self, account: str, bucket: str, policy: str) -> None:
        """PutVectorBucketPolicy: replaces any policy, text kept as given."""
        with self._write() as db:
            cursor = db.execute("UPDATE buckets SET policy=? WHERE account=? AND name=?", (policy, account, bucket))
            if cursor.rowcount == 0:
                raise VectorBucketNotFound(bucket)

    def get_policy(self, account: str, bucket: str) -> str:
        """GetVectorBucketPolicy."""
        rows = self._read("SELECT policy FROM buckets WHERE account=? AND name=?", (account, bucket))
        if not rows:
            raise VectorBucketNotFound(bucket)
        if rows[0][0] is None:
            raise VectorBucketPolicyNotFound(bucket)
        return str(rows[0][0])

    def delete_policy(self, account: str, bucket: str) -> None:
        """DeleteVectorBucketPolicy; deleting a policy that is not there is a 404."""
        with self._write() as db:
            row = db.execute("SELECT policy FROM buckets WHERE account=? AND name=?", (account, bucket)).fetchone()
            if row is None:
                raise VectorBucketNotFound(bucket)
            if row[0] is None:
                raise VectorBucketPolicyNotFound(bucket)
            db.execute("UPDATE buckets SET policy=NULL WHERE account=? AND name=?", (account, bucket))

    # --- indexes --------------------------------------------------------------------------

    def create_index(self, account: str, bucket: str, name: str, *, data_type: str, dimension: int,
                     distance_metric: str, non_filterable: Sequence[str], now: int) -> None:
        """CreateIndex."""
        with self._write() as db:
            self._require_bucket(db, account, bucket)
            if db.execute("SELECT 1 FROM indexes WHERE account=? AND bucket=? AND name=?",
                          (account, bucket, name)).fetchone():
                raise ConflictException(f"index {name!r} already exists in vector bucket {bucket!r}")
            db.execute(
                "INSERT INTO indexes (account, bucket, name, creation_time, data_type, dimension, "
                "distance_metric, non_filterable) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (account, bucket, name, now, data_type, dimension, distance_metric,
                 json.dumps(list(non_filterable))))

    def get_index(self, account: str, bucket: str, name: str) -> IndexRow:
        """GetIndex; also the existence check of every index-scoped action."""
        with self.lock:
            rows = self._read(f"SELECT {_INDEX_COLUMNS} FROM indexes WHERE account=? AND bucket=? AND name=?",
                              (account, bucket, name))
            if not rows:  # which 404: an index implies its bucket (a bucket with indexes cannot be deleted)
                self.get_bucket(account, bucket)
                raise VectorIndexNotFound(bucket, name)
        return _index_row(rows[0])

    def list_indexes(self, account: str, bucket: str, prefix: str | None, after: str | None,
                     limit: int) -> list[IndexRow]:
        """ListIndexes."""
        clause, params = _prefix_clause("name", prefix)
        with self.lock:
            self.get_bucket(account, bucket)
            rows = self._read(
                f"SELECT {_INDEX_COLUMNS} FROM indexes WHERE account=? AND bucket=? AND name>?{clause} "
                "ORDER BY name LIMIT ?", [account, bucket, after or "", *params, limit])
        return [_index_row(r) for r in rows]

    def delete_index(self, account: str, bucket: str, name: str) -> None:
        """DeleteIndex, with all of its vectors."""
        with self._write() as db:
            self._require_bucket(db, account, bucket)
            row = db.execute("SELECT id FROM indexes WHERE account=? AND bucket=? AND name=?",
                             (account, bucket, name)).fetchone()
            if row is None:
                raise VectorIndexNotFound(bucket, name)
            db.execute("DELETE FROM vectors WHERE index_id=?", (row[0],))
            db.execute("DELETE FROM indexes WHERE id=?", (row[0],))

    # --- vectors --------------------------------------------------------------------------

    def _bump(self, db: sqlite3.Connection, index: IndexRow) -> None:
        cursor = db.execute("UPDATE indexes SET version=version+1 WHERE id=?", (index.id,))
        if cursor.rowcount == 0:  # deleted since the caller looked it up
            raise VectorIndexNotFound(index.bucket, index.name)

    def put_vectors(self, index: IndexRow, items: Sequence[tuple[str, bytes, dict[str, Any] | None]]) -> None:
        """PutVectors: insert or overwrite (key, data bytes, metadata) in one transaction."""
        rows = [(index.id, key, data, None if md is None else json.dumps(md, separators=(",", ":")))
                for key, data, md in items]
        with self._write() as db:
            self._bump(db, index)
            db.executemany("INSERT OR REPLACE INTO vectors (index_id, key, data, metadata) VALUES (?, ?, ?, ?)",
                           rows)

    def delete_vectors(self, index: IndexRow, keys: Sequence[str]) -> None:
        """DeleteVectors: keys that are not there are ignored."""
        with self._write() as db:
            self._bump(db, index)
            db.executemany("DELETE FROM vectors WHERE index_id=? AND key=?", [(index.id, k) for k in keys])

    def get_vectors(self, index: IndexRow, keys: Sequence[str], *, data: bool,
                    metadata: bool) -> dict[str, VectorRow]:
        """GetVectors: the stored vectors among `keys`, by key."""
        found: dict[str, VectorRow] = {}
        with self.lock:
            for key in dict.fromkeys(keys):
                row = self._db.execute("SELECT data, metadata FROM vectors WHERE index_id=? AND key=?",
                                       (index.id, key)).fetchone()
                if row is not None:
                    found[key] = self._vector(key, row[0], row[1], data, metadata)
        return found

    def list_vectors(self, index: IndexRow, after: str | None, limit: int, *, data: bool,
                     metadata: bool) -> list[VectorRow]:
        """ListVectors: keys in order, after the page token's key."""
        columns = f"key, {'data' if data else 'NULL'}, {'metadata' if metadata else 'NULL'}"
        rows = self._read(f"SELECT {columns} FROM vectors WHERE index_id=? AND key>? ORDER BY key LIMIT ?",
                          (index.id, after or "", limit))
        return [self._vector(k, d, m, data, metadata) for k, d, m in rows]

    @staticmethod
    def _vector(key: str, blob: bytes | None, md: str | None, data: bool, metadata: bool) -> VectorRow:
        return VectorRow(key, blob if data else None, json.loads(md) if metadata and md else None)

    def index_version(self, index: IndexRow) -> int | None:
        """The current version of an index, None if it was deleted."""
        rows = self._read("SELECT version FROM indexes WHERE id=?", (index.id,))
        return int(rows[0][0]) if rows else None

    def load_vectors(self, index: IndexRow) -> tuple[int, list[str], list[bytes]]:
        """(version, keys, data blobs) of a whole index, in key order, for search.py's cache."""
        return self._load_column(index, "data")

    def load_metadata(self, index: IndexRow) -> tuple[int, list[str], list[str | None]]:
        """(version, keys, metadata JSON texts) of a whole index, in key order."""
        return self._load_column(index, "metadata")

    def _load_column(self, index: IndexRow, column: Literal["data", "metadata"]) -> tuple[int, list[str], list[Any]]:
        """One column of every vector with its key, read under the lock with the version
        it belongs to, so that a cache keyed on the version cannot mix two writes."""
        with self.lock:
            version = self.index_version(index)
            if version is None:
                raise VectorIndexNotFound(index.bucket, index.name)
            rows = self._db.execute(f"SELECT key, {column} FROM vectors WHERE index_id=? ORDER BY key",
                                    (index.id,)).fetchall()
        return version, [r[0] for r in rows], [r[1] for r in rows]
