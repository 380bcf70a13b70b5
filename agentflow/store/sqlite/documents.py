"""`SqliteDocumentStore`: LangGraph's `BaseStore` in the run database — namespaced JSON items with full-text
search (FTS5, BM25), vector search (an embedding function in LangGraph's `index` shape) and hybrid ranking
of both (reciprocal-rank fusion), chosen per query; metadata filters; TTL. Tools reach it as
`RunContext.store`; nodes as LangGraph's `runtime.store`.

    store.asearch(("user", "alice"), query="tea", mode="hybrid")     # "fts" | "vector" | "hybrid"

- Namespaces are tuples of labels, stored joined by "." (labels may not contain "."; LangGraph's rule).
- Text: the fields of the put's `index` (a list of paths), else the `index` config's `fields`, else (full
  text only) every string in the value; `index=False` indexes nothing. Query words are each quoted, so user
  text is never FTS syntax. Default mode: hybrid when the store has embeddings and a query, else full text.
- Vectors: one per embedded text, stored as float32 BLOBs with the embedding model's id and searched in
  memory (`vectors.py`, which says why not sqlite-vec). Opened with another model than the stored vectors',
  vector and hybrid search raise `EmbeddingMismatchError` until `areindex()` re-embeds them.
- Embedding off the critical path: `aput(..., embed_later=True)` commits the item (full-text searchable) at
  once and leaves the vectors to a background thread (`embed_worker.py`), which may merge it into a near
  duplicate (`dedup=` cosine threshold). `aflush()` waits for it; items left pending by a crash are embedded
  by the next process that uses the worker.
- TTL (minutes, LangGraph's semantics): expired items are invisible and swept by the next write; reads
  refresh the TTL of the items they return (`ttl={"refresh_on_read": False}` or `refresh_ttl=False` not).
  `clock` (seconds since the epoch) is injectable for tests.

Writes go through the storage's group-commit writer; reads use its read connections.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread
import numpy as np
from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from agentflow.exceptions import ConfigError, EmbeddingMismatchError
from agentflow.store.filters import check_filter
from agentflow.store.ranking import reciprocal_rank_fusion
from agentflow.store.sqlite.search import Row, fetch_items, fts_query, fts_ranked, recent
from agentflow.store.sqlite.vectors import VectorChange, VectorIndex, bump_version, read_version

if TYPE_CHECKING:
    from agentflow.memory.embeddings import Embedder
    from agentflow.store.sqlite.embed_worker import EmbedWorker
    from agentflow.store.sqlite.storage import SqliteStorage

__all__ = ["MODES", "SearchMode", "SqliteDocumentStore", "fts_query"]

SearchMode = Literal["fts", "vector", "hybrid"]
MODES = ("fts", "vector", "hybrid")
HYBRID_DEPTH = 50  # candidates each ranking contributes to the fusion (at least)


# a full-text row has its item's rowid (written after the item, deleted before it)
_DELETE_FTS = (
    "DELETE FROM store_fts WHERE rowid = (SELECT rowid FROM store_items WHERE namespace = ? AND key = ?)"
)
_INSERT_FTS = (
    "INSERT INTO store_fts (rowid, namespace, key, text) VALUES "
    "((SELECT rowid FROM store_items WHERE namespace = ? AND key = ?), ?, ?, ?)"
)


def ns_text(namespace: tuple[str, ...]) -> str:
    for label in namespace:
        if not isinstance(label, str) or not label or "." in label:
            raise ConfigError(f"namespace labels must be non-empty and contain no '.': {namespace!r}")
    return ".".join(namespace)


def _all_strings(value: Any) -> list[str]:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return out


def _fts_text(value: Any, fields: Sequence[str] | None) -> str:
    if fields is None or list(fields) == ["$"]:
        return "\n".join(_all_strings(value))
    from langgraph.store.base.embed import get_text_at_path, tokenize_path

    texts = [t for f in fields for t in get_text_at_path(value, tokenize_path(f))]
    return "\n".join(t for t in texts if t)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


class SqliteDocumentStore(BaseStore):
    """Namespaced items with full-text, vector and hybrid search, in the run database."""

    supports_ttl = True

    def __init__(
        self,
        storage: SqliteStorage,
        *,
        index: Mapping[str, Any] | None = None,
        ttl: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.index_config = dict(index) if index else None
        self.ttl_config: Any = dict(ttl) if ttl else None
        self.clock = clock
        self.embedder: Embedder | None = None
        self.vectors: VectorIndex | None = None
        if index:
            from agentflow.memory.embeddings import Embedder

            self.embedder = Embedder(index)
            self.vectors = VectorIndex(self.embedder.dims)
        self._worker: EmbedWorker | None = None

    @property
    def model_id(self) -> str | None:
        """The embedding model this store embeds with (None: no embeddings, full-text search only)."""
        return self.embedder.model_id if self.embedder else None

    def close(self) -> None:
        """Finish the background embedder's queue (the storage calls this before closing the writer)."""
        if self._worker is not None:
            self._worker.close()

    # ---------------------------------------------------------------------------------------- the API

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        raise NotImplementedError(
            "use the async API (abatch, aget, aput, asearch): agentflow runs on asyncio"
        )

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Reads first, then the puts (last put of a key wins), as LangGraph's `InMemoryStore` does."""
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                results[i] = await self._get(op)
            elif isinstance(op, SearchOp):
                results[i] = await self._search(op, None)
            elif isinstance(op, ListNamespacesOp):
                results[i] = await self.storage.readers.run(partial(self._namespaces, op=op))
            elif not isinstance(op, PutOp):
                raise ConfigError(f"unsupported store operation {type(op).__name__}")
        puts = {(op.namespace, op.key): op for op in ops if isinstance(op, PutOp)}
        if puts:
            await self._put(list(puts.values()))
        return results

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
        mode: SearchMode | None = None,
    ) -> list[SearchItem]:
        """`BaseStore.asearch` plus `mode`: "fts", "vector" or "hybrid" (default: hybrid with embeddings and a
        query, else full text)."""
        refresh = self._refresh(refresh_ttl)
        op = SearchOp(namespace_prefix, filter, limit, offset, query, refresh)
        return await self._search(op, mode)

    async def aput(  # type: ignore[override]
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
        embed_later: bool = False,
        dedup: float | None = None,
    ) -> None:
        """`BaseStore.aput` plus: `embed_later` (commit now, embed in the background) and `dedup` (with
        embed_later: once embedded, merge into an item of the same namespace at least this similar)."""
        if ttl is NOT_PROVIDED:
            ttl = (self.ttl_config or {}).get("default_ttl")
        if not namespace or namespace[0] == "langgraph":
            raise ConfigError(f"invalid namespace {namespace!r}: empty, or its root label is 'langgraph'")
        op = PutOp(namespace, str(key), value, index, ttl=None if isinstance(ttl, NotProvided) else ttl)
        await self._put([op], later=embed_later, dedup=dedup)

    async def aflush(self) -> None:
        """Wait until every item put with `embed_later` so far (and any left pending) has its vectors."""
        if self.embedder is not None:
            await self._embed_worker().drain()

    def _refresh(self, refresh_ttl: bool | None) -> bool:
        if refresh_ttl is not None:
            return refresh_ttl
        return bool((self.ttl_config or {}).get("refresh_on_read", True))

    # ------------------------------------------------------------------------------------------ writes

    def _fields(self, index: Literal[False] | list[str] | tuple[str, ...] | None) -> list[str] | None:
        if index is not None and index is not False:
            return list(index)
        return self.embedder.fields if self.embedder else None

    async def _put(self, ops: list[PutOp], *, later: bool = False, dedup: float | None = None) -> None:
        for op in ops:
            ns_text(op.namespace)
        embedder = self.embedder
        vectors: dict[int, list[tuple[str, np.ndarray]]] = {}
        if embedder is not None and not later:
            jobs = [
                (i, path, text)
                for i, op in enumerate(ops)
                if op.value is not None and op.index is not False
                for path, text in embedder.texts_of(op.value, self._fields(op.index))
            ]
            if jobs:
                embedded = await embedder.aembed([text for _, _, text in jobs])
                for (i, path, _), vector in zip(jobs, embedded, strict=True):
                    vectors.setdefault(i, []).append((path, vector))
        now = self.clock()
        model = embedder.model_id if embedder else None

        def apply(conn: sqlite3.Connection) -> tuple[int, int, list[VectorChange]]:
            changes = self._sweep(conn, now)
            stamp = _iso(now)
            for i, op in enumerate(ops):
                ns = ns_text(op.namespace)
                conn.execute(_DELETE_FTS, (ns, op.key))
                had = conn.execute(
                    "DELETE FROM store_vectors WHERE namespace = ? AND key = ?", (ns, op.key)
                ).rowcount
                if op.value is None:
                    conn.execute("DELETE FROM store_items WHERE namespace = ? AND key = ?", (ns, op.key))
                    if had:
                        changes.append(VectorChange(namespace=ns, key=op.key, vectors=np.zeros((0, 1))))
                    continue
                fields = "false" if op.index is False else (json.dumps(list(op.index)) if op.index else None)
                rows = vectors.get(i, [])
                embedded = model if rows else None
                pending = 1 if later and model is not None and op.index is not False else 0
                conn.execute(
                    "INSERT INTO store_items (namespace, key, value, created_at, updated_at, expires_at, ttl, "
                    "embed_fields, embedded, pending, dedup) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = "
                    "excluded.updated_at, expires_at = excluded.expires_at, ttl = excluded.ttl, embed_fields = "
                    "excluded.embed_fields, embedded = excluded.embedded, pending = excluded.pending, "
                    "dedup = excluded.dedup",
                    (
                        ns,
                        op.key,
                        json.dumps(op.value, ensure_ascii=False),
                        stamp,
                        stamp,
                        now + op.ttl * 60 if op.ttl is not None else None,
                        op.ttl,
                        fields,
                        embedded,
                        pending,
                        dedup if pending else None,
                    ),
                )
                if op.index is not False:
                    text = _fts_text(op.value, self._fields(op.index))
                    if text:
                        conn.execute(_INSERT_FTS, (ns, op.key, ns, op.key, text))
                for path, vector in rows:
                    conn.execute(
                        "INSERT INTO store_vectors (namespace, key, path, model, vector) VALUES (?, ?, ?, ?, ?)",
                        (ns, op.key, path, model, vector.astype(np.float32).tobytes()),
                    )
                if rows or had:
                    changes.append(
                        VectorChange(
                            namespace=ns,
                            key=op.key,
                            vectors=np.stack([v for _, v in rows]) if rows else np.zeros((0, 1)),
                        )
                    )
            return self._versioned(conn, changes, model)

        previous, version, changes = await self.storage.writer.write(apply)
        if self.vectors is not None and changes:
            self.vectors.apply(changes, version, previous)
        if later and embedder is not None:
            keys = [
                (ns_text(op.namespace), op.key)
                for op in ops
                if op.value is not None and op.index is not False
            ]
            if keys:
                self._embed_worker().enqueue(keys)

    def _sweep(self, conn: sqlite3.Connection, now: float) -> list[VectorChange]:
        """Delete expired items (with their text and vectors); the vector changes it made."""
        expired = conn.execute(
            "SELECT namespace, key FROM store_items WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        ).fetchall()
        changes = []
        for ns, key in expired:
            conn.execute(_DELETE_FTS, (ns, key))
            if conn.execute("DELETE FROM store_vectors WHERE namespace = ? AND key = ?", (ns, key)).rowcount:
                changes.append(VectorChange(namespace=ns, key=key, vectors=np.zeros((0, 1))))
            conn.execute("DELETE FROM store_items WHERE namespace = ? AND key = ?", (ns, key))
        return changes

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

    def _embed_worker(self) -> EmbedWorker:
        if self._worker is None:
            from agentflow.store.sqlite.embed_worker import EmbedWorker

            self._worker = EmbedWorker(self)
        return self._worker

    # ------------------------------------------------------------------------------------------- reads

    async def _get(self, op: GetOp) -> Item | None:
        ns = ns_text(op.namespace)
        now = self.clock()
        found = await self.storage.readers.run(lambda conn: fetch_items(conn, [(ns, op.key)], now, None))
        row = found.get((ns, op.key))
        if row is None:
            return None
        if op.refresh_ttl and row.ttl is not None:
            await self._touch([row], now)
        return Item(
            value=row.value,
            key=row.key,
            namespace=op.namespace,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def _touch(self, rows: Sequence[Row], now: float) -> None:
        """Refresh the TTL of `rows` (those that have one)."""
        params = [(now + r.ttl * 60, r.namespace, r.key) for r in rows if r.ttl is not None]
        if params:
            await self.storage.writer.write(
                lambda conn: conn.executemany(
                    "UPDATE store_items SET expires_at = ? WHERE namespace = ? AND key = ? AND ttl IS NOT NULL",
                    params,
                )
            )

    async def _search(self, op: SearchOp, mode: SearchMode | None) -> list[SearchItem]:
        check_filter(op.filter)
        if mode is not None and mode not in MODES:
            raise ConfigError(f"unknown search mode {mode!r} (fts, vector, hybrid)")
        if op.limit < 0 or op.offset < 0:
            raise ConfigError(f"search limit and offset must be >= 0 (got {op.limit}, {op.offset})")
        prefix = ns_text(op.namespace_prefix) if op.namespace_prefix else ""
        now = self.clock()
        query = op.query or ""
        if mode is None:
            mode = "hybrid" if self.embedder is not None and query.strip() else "fts"
        if mode != "fts" and self.embedder is None:
            raise ConfigError(
                f"{mode} search needs embeddings: open the store with an index (open_storage(db, "
                "index=agentflow.memory.default_index())), or search with mode='fts'"
            )
        if not query.strip():
            rows = await self.storage.readers.run(
                lambda conn: recent(conn, prefix, now, op.filter, op.offset, op.limit)
            )
        elif mode == "fts":
            if fts_query(query) is None:  # a query with no words matches nothing
                return []
            rows = await self.storage.readers.run(
                lambda conn: fts_ranked(conn, query, prefix, now, op.filter, op.offset, op.limit)
            )
        else:
            rows = await self._semantic(query, prefix, now, op, mode)
        if op.refresh_ttl:
            await self._touch(rows, now)
        return [
            SearchItem(
                namespace=tuple(r.namespace.split(".")),
                key=r.key,
                value=r.value,
                created_at=r.created_at,
                updated_at=r.updated_at,
                score=r.score,
            )
            for r in rows
        ]

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
                    conn.execute(_DELETE_FTS, (ns, key))
                    for table in ("store_vectors", "store_items"):
                        conn.execute(f"DELETE FROM {table} WHERE namespace = ? AND key = ?", (ns, key))
                    changes.append(VectorChange(namespace=ns, key=key, vectors=np.zeros((0, 1))))
                    conn.execute(
                        "UPDATE store_items SET value = ?, updated_at = ?, ttl = ?, expires_at = ?, embedded = ?, "
                        "pending = 0, dedup = NULL WHERE namespace = ? AND key = ?",
                        (
                            item[0],
                            _iso(now),
                            item[1],
                            now + item[1] * 60 if item[1] is not None else None,
                            model,
                            *target,
                        ),
                    )
                    conn.execute(_DELETE_FTS, target)
                    if text is not None:
                        conn.execute(_INSERT_FTS, (*target, *target, text[0]))
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

    def _namespaces(self, conn: sqlite3.Connection, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        names = sorted(
            tuple(r[0].split("."))
            for r in conn.execute(
                "SELECT DISTINCT namespace FROM store_items WHERE expires_at IS NULL OR expires_at > ?",
                (self.clock(),),
            )
        )
        for condition in op.match_conditions or ():
            want = tuple(condition.path)
            if condition.match_type == "prefix":
                names = [n for n in names if _matches(n[: len(want)], want)]
            else:
                names = [n for n in names if len(n) >= len(want) and _matches(n[-len(want) :], want)]
        if op.max_depth is not None:
            names = sorted({n[: op.max_depth] for n in names})
        return names[op.offset : op.offset + op.limit]


def _matches(labels: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(labels) == len(pattern) and all(
        p == "*" or p == label for label, p in zip(labels, pattern, strict=True)
    )
