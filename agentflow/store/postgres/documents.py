"""`PostgresDocumentStore`: LangGraph's `BaseStore` in the PostgreSQL run database — namespaced JSON items
with PostgreSQL full-text search (a `tsvector` per item, GIN-indexed, ranked by `ts_rank`).

Same behaviour as the SQLite store (`agentflow.store.sqlite.documents`): namespaces are tuples of labels stored
joined by "."; the text indexed is the string fields named by `index`, every string when `index` is None,
nothing when it is False; a query matches items containing any of its words (each word is a lexeme, never
query syntax), stemmed by the `simple` configuration plus the `english` one; items may expire (`ttl` minutes).
Writes go through the storage's group-commit writer; reads use the pool. Vector search is not offered here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
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
from psycopg.types.json import Jsonb

from agentflow.exceptions import ConfigError
from agentflow.store.postgres.connection import Conn
from agentflow.store.postgres.writer import Write
from agentflow.store.sqlite.documents import _fts_text as _text, _matches
from agentflow.store.sqlite.vector_search import ns_text as _ns

if TYPE_CHECKING:
    from agentflow.store.postgres.storage import PostgresStorage

__all__ = ["PostgresDocumentStore", "ts_query"]

_VECTOR = "to_tsvector('english', %s) || to_tsvector('simple', %s)"


def ts_query(query: str) -> str | None:
    """A `to_tsquery` text matching any word of `query` (words only: no user text is query syntax)."""
    words = re.findall(r"\w+", query)
    if not words:
        return None
    return " | ".join(f"'{word}'" for word in words)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


class PostgresDocumentStore(BaseStore):
    """Namespaced items with full-text search, in the run database."""

    supports_ttl = True

    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        raise ConfigError("use the async API (abatch, aget, aput, asearch): agentflow runs on asyncio")

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        puts = [op for op in ops if isinstance(op, PutOp)]
        if puts:
            await self.storage.writer.write(Write(self._put_statements(puts)))
        reads = [(i, op) for i, op in enumerate(ops) if not isinstance(op, PutOp)]
        if reads:

            async def read(conn: Conn) -> list[Result]:
                return [await self._read(conn, op) for _, op in reads]

            answers = await self.storage.db.read(read)
            for (i, _), answer in zip(reads, answers, strict=True):
                results[i] = answer
        return results

    def _put_statements(self, ops: list[PutOp]) -> list[tuple[str, Any]]:
        now_ts = time.time()
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        statements: list[tuple[str, Any]] = [("DELETE FROM store_items WHERE expires_at <= %s", (now_ts,))]
        for op in ops:
            ns = _ns(op.namespace)
            if op.value is None:
                statements.append(("DELETE FROM store_items WHERE namespace = %s AND key = %s", (ns, op.key)))
                continue
            expires = now_ts + op.ttl * 60 if op.ttl is not None else None
            text = "" if op.index is False else _text(op.value, None if op.index is None else list(op.index))
            statements.append(
                (
                    "INSERT INTO store_items (namespace, key, value, created_at, updated_at, expires_at, text) "
                    f"VALUES (%s, %s, %s, %s, %s, %s, {_VECTOR}) ON CONFLICT (namespace, key) DO UPDATE SET "
                    "value = excluded.value, updated_at = excluded.updated_at, expires_at = "
                    "excluded.expires_at, text = excluded.text",
                    (ns, op.key, Jsonb(op.value), now, now, expires, text, text),
                )
            )
        return statements

    async def _read(self, conn: Conn, op: Op) -> Result:
        now_ts = time.time()
        if isinstance(op, GetOp):
            cursor = await conn.execute(
                "SELECT value, created_at, updated_at FROM store_items WHERE namespace = %s AND key = %s "
                "AND (expires_at IS NULL OR expires_at > %s)",
                (_ns(op.namespace), op.key, now_ts),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            return Item(
                value=row[0],
                key=op.key,
                namespace=op.namespace,
                created_at=_dt(row[1]),
                updated_at=_dt(row[2]),
            )
        if isinstance(op, SearchOp):
            return await self._search(conn, op, now_ts)
        if isinstance(op, ListNamespacesOp):
            return await self._namespaces(conn, op, now_ts)
        raise ConfigError(f"unsupported store operation {type(op).__name__}")

    async def _search(self, conn: Conn, op: SearchOp, now_ts: float) -> list[SearchItem]:
        prefix = _ns(op.namespace_prefix) if op.namespace_prefix else ""
        where = ["(expires_at IS NULL OR expires_at > %s)"]
        params: list[Any] = [now_ts]
        if prefix:
            where.append("(namespace = %s OR namespace LIKE %s)")
            params += [prefix, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"]
        for path, expected in (op.filter or {}).items():
            where.append("value #> %s = %s")
            params += [path.split("."), Jsonb(expected)]
        match = ts_query(op.query) if op.query else None
        if op.query and match is None:  # a query with no words matches nothing
            return []
        if match is not None:
            query = "to_tsquery('english', %s) || to_tsquery('simple', %s)"
            sql = (
                f"SELECT namespace, key, value, created_at, updated_at, ts_rank(text, q) AS rank "
                f"FROM store_items, ({'SELECT ' + query} AS q) AS tsq WHERE text @@ q AND {' AND '.join(where)} "
                "ORDER BY rank DESC, updated_at DESC LIMIT %s OFFSET %s"
            )
            params = [match, match, *params]
        else:
            sql = (
                f"SELECT namespace, key, value, created_at, updated_at, NULL FROM store_items "
                f"WHERE {' AND '.join(where)} ORDER BY updated_at DESC LIMIT %s OFFSET %s"
            )
        cursor = await conn.execute(sql, (*params, op.limit, op.offset))
        return [
            SearchItem(
                namespace=tuple(ns.split(".")),
                key=key,
                value=value,
                created_at=_dt(created),
                updated_at=_dt(updated),
                score=None if rank is None else float(rank),
            )
            for ns, key, value, created, updated, rank in await cursor.fetchall()
        ]

    async def _namespaces(self, conn: Conn, op: ListNamespacesOp, now_ts: float) -> list[tuple[str, ...]]:
        cursor = await conn.execute(
            "SELECT DISTINCT namespace FROM store_items WHERE expires_at IS NULL OR expires_at > %s "
            "ORDER BY namespace",
            (now_ts,),
        )
        names = [tuple(r[0].split(".")) for r in await cursor.fetchall()]
        for condition in op.match_conditions or ():
            want = tuple(condition.path)
            if condition.match_type == "prefix":
                names = [n for n in names if _matches(n[: len(want)], want)]
            else:
                names = [n for n in names if len(n) >= len(want) and _matches(n[-len(want) :], want)]
        if op.max_depth is not None:
            names = list(dict.fromkeys(n[: op.max_depth] for n in names))
        return names[op.offset : op.offset + op.limit]
