"""Vector search and vector writes of the SQLite document store (`documents.py`): the nearest items of the
in-memory index (`vectors.py`) read back with their values, hybrid ranking (full text and vectors fused by
rank, both searched at once), refusing vectors of another embedding model, re-embedding (`areindex`), and
committing vectors made off the caller's path (`store_vectors`, used by the background embedder).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import lazy_loader
from langgraph.store.base import SearchOp

from agentflow.exceptions import ConfigError, EmbeddingMismatchError
from agentflow.store.ranking import reciprocal_rank_fusion
from agentflow.store.sqlite.search import Row, fetch_items, fts_ranked
from agentflow.store.sqlite.vectors import VectorChange, VectorIndex, bump_version, read_version

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_loader.load("numpy")  # (imported on first use: keeps runs that never touch vectors light)

if TYPE_CHECKING:
    from agentflow.memory.embeddings import Embedder
    from agentflow.store.sqlite.storage import SqliteStorage

__all__ = ["HYBRID_DEPTH", "VectorSearch"]

HYBRID_DEPTH = 50  # candidates each ranking contributes to the fusion (at least)

# a full-text row has its item's rowid (written after the item, deleted before it)
DELETE_FTS = (
    "DELETE FROM store_fts WHERE rowid = (SELECT rowid FROM store_items WHERE namespace = ? AND key = ?)"
)
INSERT_FTS = (
    "INSERT INTO store_fts (rowid, namespace, key, text) VALUES "
    "((SELECT rowid FROM store_items WHERE namespace = ? AND key = ?), ?, ?, ?)"
)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def ns_text(namespace: tuple[str, ...]) -> str:
    for label in namespace:
        if not isinstance(label, str) or not label or "." in label:
            raise ConfigError(f"namespace labels must be non-empty and contain no '.': {namespace!r}")
    return ".".join(namespace)


class VectorSearch:
    """The vector half of `SqliteDocumentStore` (a mixin: it uses the store's storage, embedder, index, clock)."""

    storage: SqliteStorage
    embedder: Embedder | None
    vectors: VectorIndex | None
    clock: Callable[[], float]

    def _versioned(
        self, conn: sqlite3.Connection, changes: list[VectorChange], model: str | None
    ) -> tuple[int, int, list[VectorChange]]:
        """Inside a write that changed vectors: bump the version; adopt `model` as the store's embedding
        model when it has none, or when no vector of another model is left."""
        previous = read_version(conn)
        if not changes:
            return previous, previous, changes
        if model is not None and any(len(c.vectors) for c in changes):
            conn.execute(
                "INSERT INTO agentflow_meta VALUES ('embedding_model', ?) ON CONFLICT (key) DO UPDATE SET "
                "value = excluded.value WHERE NOT EXISTS (SELECT 1 FROM store_vectors WHERE model != ?)",
                (model, model),
            )
        return previous, bump_version(conn), changes

    async def _semantic(self, query: str, prefix: str, now: float, op: SearchOp, mode: str) -> list[Row]:
        assert self.embedder is not None and self.vectors is not None
        await self._ensure_vectors()
        need = op.offset + op.limit
        if mode == "vector":
            vector = (await self.embedder.aembed([query]))[0]
            return (await self._nearest(vector, prefix, now, op.filter, need))[op.offset : need]
        depth = max(HYBRID_DEPTH, 2 * need)
        found: dict[str, list[Row]] = {}

        async def by_words() -> None:
            found["text"] = await self.storage.readers.run(
                lambda conn: fts_ranked(conn, query, prefix, now, op.filter, 0, depth)
            )

        async def by_meaning() -> None:
            assert self.embedder is not None
            vector = (await self.embedder.aembed([query]))[0]
            found["nearest"] = await self._nearest(vector, prefix, now, op.filter, depth)

        # both rankings at once (SQLite and numpy release the GIL); the caller gets a typed error, not a group
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(by_words)
                tg.start_soon(by_meaning)
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None
        text, nearest = found["text"], found["nearest"]
        by_key = {(r.namespace, r.key): r for r in (*text, *nearest)}
        fused = reciprocal_rank_fusion(
            [[(r.namespace, r.key) for r in text], [(r.namespace, r.key) for r in nearest]]
        )
        out = []
        for key, score in fused[op.offset : need]:
            row = by_key[key]
            out.append(Row(row.namespace, row.key, row.value, row.created_at, row.updated_at, row.ttl, score))
        return out

    async def _nearest(
        self, vector: np.ndarray, prefix: str, now: float, filter: Mapping[str, Any] | None, need: int
    ) -> list[Row]:
        """The `need` nearest live items passing `filter`, best first (asking the index for more until
        enough pass, or none are left)."""
        assert self.vectors is not None
        index = self.vectors
        k = max(need * 8, 64) if filter else need  # one matrix product usually finds enough that pass
        while True:
            hits = await anyio.to_thread.run_sync(partial(index.search, vector, prefix=prefix, k=k))
            keys = [(ns, key) for ns, key, _ in hits]
            found = await self.storage.readers.run(partial(fetch_items, keys=keys, now=now, filter=filter))
            rows = []
            for ns, key, score in hits:
                row = found.get((ns, key))
                if row is not None:
                    rows.append(
                        Row(row.namespace, row.key, row.value, row.created_at, row.updated_at, row.ttl, score)
                    )
            if len(rows) >= need or len(hits) < k:
                return rows[:need]
            k *= 4

    async def _ensure_vectors(self) -> None:
        """Refuse a foreign embedding model; (re)load the in-memory index when another process changed it."""
        assert self.embedder is not None and self.vectors is not None
        model, index = self.embedder.model_id, self.vectors

        def check(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT value FROM agentflow_meta WHERE key = 'embedding_model'").fetchone()
            stored = row[0] if row else None
            if stored is not None and stored != model:
                foreign = conn.execute(
                    "SELECT 1 FROM store_vectors WHERE model != ? LIMIT 1", (model,)
                ).fetchone()
                if foreign is not None:
                    raise EmbeddingMismatchError(
                        f"the store's vectors were made by embedding model {stored!r}, not {model!r} (the one "
                        "it was opened with): vector search is refused until they are re-embedded — run "
                        "`agentflow memory reindex` (or store.areindex()); full-text search still works",
                        stored=stored,
                        current=model,
                    )
            if index.version is None or index.version != read_version(conn):
                index.load(conn, model)

        await self.storage.readers.run(check)

    async def areindex(
        self,
        *,
        namespace_prefix: tuple[str, ...] = (),
        batch: int = 64,
        progress: Callable[[int], Any] | None = None,
    ) -> int:
        """Re-embed every item (under `namespace_prefix`) with this store's model; returns how many. Once no
        vector of another model is left, the store's model is this one and vector search works again."""
        if self.embedder is None:
            raise ConfigError("reindex needs embeddings: open the store with an index")
        embedder = self.embedder
        prefix = ns_text(namespace_prefix) if namespace_prefix else ""

        def read(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
            sql = "SELECT namespace, key, value, embed_fields FROM store_items WHERE (embed_fields IS NULL OR embed_fields != 'false')"
            params: list[Any] = []
            if prefix:
                sql += " AND (namespace = ? OR (namespace >= ? AND namespace < ?))"
                params += [prefix, prefix + ".", prefix + "/"]
            return list(conn.execute(sql + " ORDER BY namespace, key", params))

        items = await self.storage.readers.run(read)
        done = 0
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            jobs = [
                (ns, key, path, text)
                for ns, key, value, fields in chunk
                for path, text in embedder.texts_of(json.loads(value), json.loads(fields) if fields else None)
            ]
            vectors: Any = await embedder.aembed([text for *_, text in jobs]) if jobs else []
            grouped: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {
                (ns, key): [] for ns, key, *_ in chunk
            }
            for (ns, key, path, _), vector in zip(jobs, vectors, strict=True):
                grouped[(ns, key)].append((path, vector))
            await self.store_vectors(grouped)
            done += len(chunk)
            if progress is not None:
                progress(done)
        if not prefix:  # vectors of items that no longer exist, or of another model
            await self.storage.writer.write(
                lambda conn: conn.execute("DELETE FROM store_vectors WHERE model != ?", (embedder.model_id,))
            )
        if self.vectors is not None:
            self.vectors.invalidate()
        return done

    async def store_vectors(
        self,
        grouped: Mapping[tuple[str, str], Sequence[tuple[str, np.ndarray]]],
        merges: Mapping[tuple[str, str], tuple[str, str]] | None = None,
    ) -> dict[tuple[str, str], tuple[str, str]]:
        """Replace the vectors of existing items (made by this store's model) and clear their pending mark.
        `merges` maps an item to a near duplicate it is merged into (the duplicate takes its value, text and
        vectors; the item is deleted). Returns the merges done (an item gone meanwhile is skipped)."""
        assert self.embedder is not None
        model = self.embedder.model_id
        now = self.clock()

        def apply(conn: sqlite3.Connection) -> tuple[int, int, list[VectorChange], dict[Any, Any]]:
            changes: list[VectorChange] = []
            done: dict[tuple[str, str], tuple[str, str]] = {}
            for (ns, key), rows in grouped.items():
                item = conn.execute(
                    "SELECT value, ttl FROM store_items WHERE namespace = ? AND key = ?", (ns, key)
                ).fetchone()
                if item is None:
                    continue
                target = (merges or {}).get((ns, key))
                if (
                    target is not None
                    and conn.execute(
                        "SELECT 1 FROM store_items WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR "
                        "expires_at > ?)",
                        (*target, now),
                    ).fetchone()
                ):
                    text = conn.execute(
                        "SELECT text FROM store_fts WHERE rowid = (SELECT rowid FROM store_items WHERE "
                        "namespace = ? AND key = ?)",
                        (ns, key),
                    ).fetchone()
                    conn.execute(DELETE_FTS, (ns, key))
                    for table in ("store_vectors", "store_items"):
                        conn.execute(f"DELETE FROM {table} WHERE namespace = ? AND key = ?", (ns, key))
                    changes.append(VectorChange(namespace=ns, key=key, vectors=np.zeros((0, 1))))
                    conn.execute(
                        "UPDATE store_items SET value = ?, updated_at = ?, ttl = ?, expires_at = ?, embedded = ?, "
                        "pending = 0, dedup = NULL WHERE namespace = ? AND key = ?",
                        (
                            item[0],
                            iso(now),
                            item[1],
                            now + item[1] * 60 if item[1] is not None else None,
                            model,
                            *target,
                        ),
                    )
                    conn.execute(DELETE_FTS, target)
                    if text is not None:
                        conn.execute(INSERT_FTS, (*target, *target, text[0]))
                    done[(ns, key)] = target
                    ns, key = target
                else:
                    conn.execute(
                        "UPDATE store_items SET embedded = ?, pending = 0, dedup = NULL WHERE namespace = ? AND key = ?",
                        (model, ns, key),
                    )
                conn.execute("DELETE FROM store_vectors WHERE namespace = ? AND key = ?", (ns, key))
                for path, vector in rows:
                    conn.execute(
                        "INSERT INTO store_vectors (namespace, key, path, model, vector) VALUES (?, ?, ?, ?, ?)",
                        (ns, key, path, model, vector.astype(np.float32).tobytes()),
                    )
                changes.append(
                    VectorChange(
                        namespace=ns,
                        key=key,
                        vectors=np.stack([v for _, v in rows]) if rows else np.zeros((0, 1)),
                    )
                )
            previous, version, changes = self._versioned(conn, changes, model)
            return previous, version, changes, done

        previous, version, changes, done = await self.storage.writer.write(apply)
        if self.vectors is not None and changes:
            self.vectors.apply(changes, version, previous)
        return done
