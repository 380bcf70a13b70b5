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
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import lazy_loader
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

from agentflow.exceptions import ConfigError
from agentflow.store.filters import check_filter
from agentflow.store.sqlite.search import Row, fetch_items, fts_query, fts_ranked, recent
from agentflow.store.sqlite.vector_search import DELETE_FTS, INSERT_FTS, VectorSearch, iso, ns_text
from agentflow.store.sqlite.vectors import VectorChange, VectorIndex

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_loader.load("numpy")  # (imported on first use: keeps runs that never touch vectors light)

if TYPE_CHECKING:
    from agentflow.memory.embeddings import Embedder
    from agentflow.store.sqlite.embed_worker import EmbedWorker
    from agentflow.store.sqlite.storage import SqliteStorage

__all__ = ["MODES", "SearchMode", "SqliteDocumentStore", "fts_query"]

SearchMode = Literal["fts", "vector", "hybrid"]
MODES = ("fts", "vector", "hybrid")


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


class SqliteDocumentStore(VectorSearch, BaseStore):
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
        raise ConfigError("use the async API (abatch, aget, aput, asearch): agentflow runs on asyncio")

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
            stamp = iso(now)
            for i, op in enumerate(ops):
                ns = ns_text(op.namespace)
                conn.execute(DELETE_FTS, (ns, op.key))
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
                        conn.execute(INSERT_FTS, (ns, op.key, ns, op.key, text))
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
            conn.execute(DELETE_FTS, (ns, key))
            if conn.execute("DELETE FROM store_vectors WHERE namespace = ? AND key = ?", (ns, key)).rowcount:
                changes.append(VectorChange(namespace=ns, key=key, vectors=np.zeros((0, 1))))
            conn.execute("DELETE FROM store_items WHERE namespace = ? AND key = ?", (ns, key))
        return changes

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
