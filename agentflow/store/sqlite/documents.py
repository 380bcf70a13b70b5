"""`SqliteDocumentStore`: LangGraph's `BaseStore` in the run database — namespaced JSON items with full-text
search (SQLite FTS5, BM25 ranking). Tools reach it as `RunContext.store`; nodes as LangGraph's `runtime.store`.

Namespaces are tuples of labels, stored joined by "." (labels may not contain "."). Text indexed for search:
the string fields named by `index` (a list of top-level field names), every string in the value when `index`
is None, nothing when `index` is False. `query` words are each quoted, so user text is never FTS syntax; items
whose text matches any word are ranked by BM25. Items may expire (`ttl` minutes); expired items are invisible
and removed by the next write. Writes go through the storage's group-commit writer; reads use its read
connections.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from agentflow.exceptions import ConfigError

if TYPE_CHECKING:
    from agentflow.store.sqlite.storage import SqliteStorage

__all__ = ["SqliteDocumentStore", "fts_query"]


def fts_query(query: str) -> str | None:
    """An FTS5 query matching any word of `query`, each word quoted so no user text is FTS syntax."""
    words = re.findall(r"\w+", query)
    if not words:
        return None
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def _ns(namespace: tuple[str, ...]) -> str:
    for label in namespace:
        if not label or "." in label:
            raise ConfigError(f"namespace labels must be non-empty and contain no '.': {namespace!r}")
    return ".".join(namespace)


def _text(value: Any, fields: Sequence[str] | None) -> str:
    if fields is not None:
        parts = [value.get(f) for f in fields] if isinstance(value, dict) else []
        return "\n".join(
            p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in parts if p is not None
        )
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
    return "\n".join(out)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SqliteDocumentStore(BaseStore):
    """Namespaced items with full-text search, in the run database."""

    supports_ttl = True

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        raise NotImplementedError(
            "use the async API (abatch, aget, aput, asearch): agentflow runs on asyncio"
        )

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        puts = [(i, op) for i, op in enumerate(ops) if isinstance(op, PutOp)]
        if puts:
            await self.storage.writer.write(lambda conn: self._put_all(conn, [op for _, op in puts]))
        reads = [(i, op) for i, op in enumerate(ops) if not isinstance(op, PutOp)]
        if reads:
            answers = await self.storage.readers.run(lambda conn: [self._read(conn, op) for _, op in reads])
            for (i, _), answer in zip(reads, answers, strict=True):
                results[i] = answer
        return results

    # ------------------------------------------------------------------------------------------- writes

    def _put_all(self, conn: sqlite3.Connection, ops: list[PutOp]) -> None:
        now_ts = time.time()
        conn.execute(
            "DELETE FROM store_fts WHERE rowid IN (SELECT f.rowid FROM store_fts f JOIN store_items i ON "
            "i.namespace = f.namespace AND i.key = f.key WHERE i.expires_at <= ?)",
            (now_ts,),
        )
        conn.execute("DELETE FROM store_items WHERE expires_at <= ?", (now_ts,))
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        for op in ops:
            ns = _ns(op.namespace)
            conn.execute("DELETE FROM store_fts WHERE namespace = ? AND key = ?", (ns, op.key))
            if op.value is None:
                conn.execute("DELETE FROM store_items WHERE namespace = ? AND key = ?", (ns, op.key))
                continue
            expires = now_ts + op.ttl * 60 if op.ttl is not None else None
            conn.execute(
                "INSERT INTO store_items (namespace, key, value, created_at, updated_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at, expires_at = excluded.expires_at",
                (ns, op.key, json.dumps(op.value, ensure_ascii=False), now, now, expires),
            )
            if op.index is not False:
                text = _text(op.value, None if op.index is None else list(op.index))
                if text:
                    conn.execute(
                        "INSERT INTO store_fts (namespace, key, text) VALUES (?, ?, ?)", (ns, op.key, text)
                    )

    # -------------------------------------------------------------------------------------------- reads

    def _read(self, conn: sqlite3.Connection, op: Op) -> Result:
        now_ts = time.time()
        if isinstance(op, GetOp):
            row = conn.execute(
                "SELECT value, created_at, updated_at FROM store_items WHERE namespace = ? AND key = ? "
                "AND (expires_at IS NULL OR expires_at > ?)",
                (_ns(op.namespace), op.key, now_ts),
            ).fetchone()
            if row is None:
                return None
            return Item(
                value=json.loads(row[0]),
                key=op.key,
                namespace=op.namespace,
                created_at=_dt(row[1]),
                updated_at=_dt(row[2]),
            )
        if isinstance(op, SearchOp):
            return self._search(conn, op, now_ts)
        if isinstance(op, ListNamespacesOp):
            return self._namespaces(conn, op, now_ts)
        raise ConfigError(f"unsupported store operation {type(op).__name__}")

    def _search(self, conn: sqlite3.Connection, op: SearchOp, now_ts: float) -> list[SearchItem]:
        prefix = _ns(op.namespace_prefix) if op.namespace_prefix else ""
        where = ["(i.expires_at IS NULL OR i.expires_at > ?)"]
        params: list[Any] = [now_ts]
        if prefix:
            where.append("(i.namespace = ? OR i.namespace LIKE ? ESCAPE '\\')")
            params += [prefix, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"]
        for path, expected in (op.filter or {}).items():
            where.append("json_extract(i.value, ?) = json_extract(?, '$')")
            params += [f"$.{path}", json.dumps(expected)]
        match = fts_query(op.query) if op.query else None
        if op.query and match is None:  # a query with no words matches nothing
            return []
        if match is not None:
            sql = (
                f"SELECT i.namespace, i.key, i.value, i.created_at, i.updated_at, bm25(store_fts) AS rank "
                f"FROM store_fts f JOIN store_items i ON i.namespace = f.namespace AND i.key = f.key "
                f"WHERE store_fts MATCH ? AND {' AND '.join(where)} ORDER BY rank, i.updated_at DESC LIMIT ? OFFSET ?"
            )
            params = [match, *params]
        else:
            sql = (
                f"SELECT i.namespace, i.key, i.value, i.created_at, i.updated_at, NULL FROM store_items i "
                f"WHERE {' AND '.join(where)} ORDER BY i.updated_at DESC LIMIT ? OFFSET ?"
            )
        rows = conn.execute(sql, (*params, op.limit, op.offset)).fetchall()
        return [
            SearchItem(
                namespace=tuple(ns.split(".")),
                key=key,
                value=json.loads(value),
                created_at=_dt(created),
                updated_at=_dt(updated),
                score=None if rank is None else -float(rank),
            )
            for ns, key, value, created, updated, rank in rows
        ]

    def _namespaces(
        self, conn: sqlite3.Connection, op: ListNamespacesOp, now_ts: float
    ) -> list[tuple[str, ...]]:
        names = [
            tuple(r[0].split("."))
            for r in conn.execute(
                "SELECT DISTINCT namespace FROM store_items WHERE expires_at IS NULL OR expires_at > ? ORDER BY namespace",
                (now_ts,),
            )
        ]
        for condition in op.match_conditions or ():
            want = tuple(condition.path)
            if condition.match_type == "prefix":
                names = [n for n in names if _matches(n[: len(want)], want)]
            else:
                names = [n for n in names if len(n) >= len(want) and _matches(n[-len(want) :], want)]
        if op.max_depth is not None:
            names = list(dict.fromkeys(n[: op.max_depth] for n in names))
        return names[op.offset : op.offset + op.limit]


def _matches(labels: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(labels) == len(pattern) and all(
        p == "*" or p == label for label, p in zip(labels, pattern, strict=True)
    )
