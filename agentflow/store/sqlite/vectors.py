"""The in-memory vector index of a SQLite store: every vector of the `store_vectors` table in one numpy
matrix, searched by brute force (a matrix-vector product; vectors are unit length, so it is the cosine).

Why not sqlite-vec: loading an SQLite extension needs `enable_load_extension`, which the default Python here
(pyenv's, like python.org's and macOS's) lacks, and a second SQLite library (pysqlite3, apsw) on the same
file in one process does not share locks with the stdlib's — a way to corrupt the file. Brute force over a
contiguous float32 matrix costs ~5 ms per query at 100k vectors of 384 dims on this 2-core machine
(bench/memory.py), the same order as sqlite-vec's own brute-force scan (~17-20 ms at 10k, measured), with
no extension at all. The vectors stay in SQLite (BLOBs) as the source of truth.

Kept in sync: every change to the vectors bumps `vectors_version` in `agentflow_meta` in the same
transaction. This process applies its own changes to the matrix after they commit (when the version it
knew was the one before); a version it did not expect (another process wrote) makes the next search reload
the matrix from SQLite. Thread-safe (searches run on worker threads, the embedder on its own).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_loader.load("numpy")  # (imported on first use: keeps runs that never touch vectors light)


__all__ = ["VectorChange", "VectorIndex", "read_version"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorChange:
    """What one committed write did to an item's vectors: replaced them by `vectors` (one row per path;
    empty: the item has none now)."""

    namespace: str
    key: str
    vectors: np.ndarray


def read_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM agentflow_meta WHERE key = 'vectors_version'").fetchone()
    return int(row[0]) if row else 0


def bump_version(conn: sqlite3.Connection) -> int:
    """Inside a write: the vectors changed; returns the new version."""
    conn.execute(
        "INSERT INTO agentflow_meta VALUES ('vectors_version', '1') ON CONFLICT (key) DO UPDATE SET "
        "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
    )
    return read_version(conn)


class VectorIndex:
    """Rows of unit vectors, each belonging to an item (namespace, key); an item may have several rows."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.version: int | None = None  # None: not loaded (or stale); `load` builds the arrays
        self._lock = threading.RLock()
        self._rows = 0
        self._item_ids: dict[tuple[str, str], int] = {}

    def _reset(self, capacity: int = 1024) -> None:
        self._vectors = np.zeros((capacity, self.dims), dtype=np.float32)
        self._row_item = np.full(capacity, -1, dtype=np.int64)  # -1: a free row
        self._row_ns = np.full(capacity, -1, dtype=np.int64)
        self._rows = 0
        self._items: list[tuple[str, str] | None] = []
        self._item_ids = {}
        self._item_rows: dict[int, list[int]] = {}
        self._free: list[int] = []
        self._ns_ids: dict[str, int] = {}
        self._ns_names: list[str] = []
        self._ns_rows: dict[int, dict[int, None]] = {}  # namespace id -> its rows (an ordered set)
        self._prefix_cache: dict[tuple[str, bool], np.ndarray] = {}

    # ------------------------------------------------------------------------------------------ syncing

    def load(self, conn: sqlite3.Connection, model: str) -> None:
        """(Re)build from the table: the vectors of `model`, at the version read in the same transaction."""
        with self._lock:
            conn.execute("BEGIN")
            try:
                version = read_version(conn)
                count = conn.execute(
                    "SELECT COUNT(*) FROM store_vectors WHERE model = ?", (model,)
                ).fetchone()[0]
                self._reset(max(1024, int(count * 1.25)))
                cursor = conn.execute(
                    "SELECT namespace, key, vector FROM store_vectors WHERE model = ? ORDER BY namespace, key",
                    (model,),
                )
                while batch := cursor.fetchmany(4096):
                    for namespace, key, blob in batch:
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape[0] == self.dims:
                            self._add_row(namespace, key, vector)
            finally:
                conn.execute("COMMIT")
            self.version = version

    def apply(self, changes: Iterable[VectorChange], version: int, previous: int) -> None:
        """Apply this process's committed changes; they took the version from `previous` to `version`. If the
        index was not at `previous`, someone else changed the vectors too: reload on the next search."""
        with self._lock:
            if self.version is None:
                return
            if self.version != previous:
                self.version = None
                return
            for change in changes:
                self._remove_item(change.namespace, change.key)
                for vector in change.vectors:
                    self._add_row(change.namespace, change.key, vector)
            self.version = version

    def invalidate(self) -> None:
        with self._lock:
            self.version = None

    def _ns_id(self, namespace: str) -> int:
        ns = self._ns_ids.get(namespace)
        if ns is None:
            ns = self._ns_ids[namespace] = len(self._ns_names)
            self._ns_names.append(namespace)
            self._prefix_cache.clear()
        return ns

    def _add_row(self, namespace: str, key: str, vector: np.ndarray) -> None:
        item = self._item_ids.get((namespace, key))
        if item is None:
            item = self._item_ids[(namespace, key)] = len(self._items)
            self._items.append((namespace, key))
            self._item_rows[item] = []
        if self._free:
            row = self._free.pop()
        else:
            if self._rows == len(self._vectors):
                grow = max(1024, len(self._vectors))
                self._vectors = np.concatenate([self._vectors, np.zeros((grow, self.dims), np.float32)])
                self._row_item = np.concatenate([self._row_item, np.full(grow, -1, np.int64)])
                self._row_ns = np.concatenate([self._row_ns, np.full(grow, -1, np.int64)])
            row = self._rows
            self._rows += 1
        self._vectors[row] = vector
        self._row_item[row] = item
        ns = self._row_ns[row] = self._ns_id(namespace)
        self._ns_rows.setdefault(ns, {})[row] = None
        self._item_rows[item].append(row)

    def _remove_item(self, namespace: str, key: str) -> None:
        item = self._item_ids.pop((namespace, key), None)
        if item is None:
            return
        for row in self._item_rows.pop(item, []):
            self._ns_rows.get(int(self._row_ns[row]), {}).pop(row, None)
            self._row_item[row] = -1
            self._row_ns[row] = -1
            self._vectors[row] = 0.0
            self._free.append(row)
        self._items[item] = None

    # ---------------------------------------------------------------------------------------- searching

    def __len__(self) -> int:
        return len(self._item_ids)

    def _namespace_mask(self, prefix: str, exact: bool) -> np.ndarray | None:
        if not prefix:
            return None
        cached = self._prefix_cache.get((prefix, exact))
        if cached is None:
            ids = [
                i
                for i, name in enumerate(self._ns_names)
                if name == prefix or (not exact and name.startswith(prefix + "."))
            ]
            cached = self._prefix_cache[(prefix, exact)] = np.array(ids, dtype=np.int64)
        return cached

    def search(
        self,
        query: np.ndarray,
        *,
        prefix: str = "",
        exact: bool = False,
        k: int = 10,
        exclude: Sequence[tuple[str, str]] = (),
    ) -> list[tuple[str, str, float]]:
        """The `k` items nearest to `query` (namespace, key, cosine), best first, among namespaces equal to
        or under `prefix` (only equal with `exact`); an item's score is its best row's."""
        with self._lock:
            n = self._rows
            if n == 0 or k <= 0:
                return []
            query = query.astype(np.float32)
            allowed = self._namespace_mask(prefix, exact)
            if allowed is not None and allowed.size == 0:
                return []
            excluded = {
                row
                for namespace, key in exclude
                for row in self._item_rows.get(self._item_ids.get((namespace, key), -1), [])
            }
            few = allowed is not None and sum(len(self._ns_rows.get(int(i), ())) for i in allowed) < n // 8
            if few:  # a small part of the index (one user's memories): score only its rows
                assert allowed is not None
                rows = [r for i in allowed for r in self._ns_rows.get(int(i), ()) if r not in excluded]
                candidates = np.array(rows, dtype=np.int64)
                if candidates.size == 0:
                    return []
                picked = self._vectors[candidates] @ query
            else:
                scores = self._vectors[:n] @ query
                alive = self._row_item[:n] >= 0
                if allowed is not None:
                    alive &= np.isin(self._row_ns[:n], allowed)
                for row in excluded:
                    alive[row] = False
                candidates = np.flatnonzero(alive)
                if candidates.size == 0:
                    return []
                picked = scores[candidates]
            want = min(candidates.size, k * 4 + 8)
            while True:
                if want < candidates.size:
                    top = np.argpartition(-picked, want - 1)[:want]
                else:
                    top = np.arange(candidates.size)
                top = top[np.argsort(-picked[top], kind="stable")]
                out: list[tuple[str, str, float]] = []
                seen: set[int] = set()
                for index in top:
                    row = int(candidates[index])
                    item = int(self._row_item[row])
                    if item in seen:
                        continue
                    seen.add(item)
                    entry = self._items[item]
                    assert entry is not None
                    out.append((entry[0], entry[1], float(picked[index])))
                    if len(out) == k:
                        return out
                if want >= candidates.size:
                    return out
                want = min(candidates.size, want * 4)
