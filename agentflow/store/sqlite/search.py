"""The SQL side of the document store's reads: full-text candidates (FTS5, BM25), listing by recency, and
fetching items by key — each with the namespace prefix, expiry and metadata filter applied (filters pushed
into SQL where `json_extract` decides them exactly, then checked in Python with LangGraph's semantics)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentflow.store.filters import matches, sql_prefilter

__all__ = ["STOPWORDS", "Row", "fetch_items", "fts_query", "fts_ranked", "recent", "where_clause"]


# English function words: matching on them ranks by noise ("the user", "what is"), so a query's other words
# are what it searches for (a query of function words only still searches for them)
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
    "me my no not of on or our so than that the their them then there these they this those to was we were "
    "what when where which who whom why will with would you your".split()
)


def fts_query(query: str, prefix: str = "") -> str | None:
    """An FTS5 query matching any word of `query` but function words in the text, each word quoted so no
    user text is FTS syntax; with a namespace `prefix`, only rows whose namespace starts with its words (a
    superset of the namespace's rows: callers check the namespace exactly)."""
    words = re.findall(r"\w+", query)
    if not words:
        return None
    content = [w for w in words if w.casefold() not in STOPWORDS] or words
    match = "text : (" + " OR ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(content)) + ")"
    if prefix and re.search(r"\w", prefix):
        match += ' AND namespace : ^"' + prefix.replace('"', '""') + '"'
    return match


@dataclass(frozen=True, slots=True)
class Row:
    """An item as read: its value decoded, times as datetimes, its TTL (minutes) if it has one."""

    namespace: str
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    ttl: float | None
    score: float | None = None


_COLUMNS = "i.namespace, i.key, i.value, i.created_at, i.updated_at, i.ttl"


def where_clause(prefix: str, now: float, filter: Mapping[str, Any] | None) -> tuple[list[str], list[Any]]:
    """Conditions on `store_items i`: not expired, under the namespace `prefix`, the filter's SQL part."""
    where = ["(i.expires_at IS NULL OR i.expires_at > ?)"]
    params: list[Any] = [now]
    if prefix:  # the namespace or any under it: a range of the primary key ("." < "/" byte-wise)
        where.append("(i.namespace = ? OR (i.namespace >= ? AND i.namespace < ?))")
        params += [prefix, prefix + ".", prefix + "/"]
    clauses, more = sql_prefilter(filter, "i.value")
    return where + clauses, params + more


def _rows(cursor: sqlite3.Cursor, filter: Mapping[str, Any] | None, scored: bool) -> Iterator[Row]:
    for ns, key, value, created, updated, ttl, *rest in cursor:
        decoded = json.loads(value)
        if filter and not matches(decoded, filter):
            continue
        score = float(rest[0]) if scored and rest and rest[0] is not None else None
        yield Row(
            ns, key, decoded, datetime.fromisoformat(created), datetime.fromisoformat(updated), ttl, score
        )


def _take(rows: Iterator[Row], offset: int, limit: int) -> list[Row]:
    out: list[Row] = []
    for index, row in enumerate(rows):
        if index >= offset + limit:
            break
        if index >= offset:
            out.append(row)
    return out


def fts_ranked(
    conn: sqlite3.Connection,
    query: str,
    prefix: str,
    now: float,
    filter: Mapping[str, Any] | None,
    offset: int,
    limit: int,
) -> list[Row]:
    """Items matching any word of `query`, best BM25 first (score: -bm25, higher is better). The full-text
    index is asked for its top hits alone (FTS5 keeps only the best N while scoring), then the items are read;
    with a filter or expired items among them it asks for more until enough pass."""
    match = fts_query(query, prefix)
    if match is None:
        return []
    need = offset + limit
    sql = "SELECT namespace, key, rank FROM store_fts WHERE store_fts MATCH ? ORDER BY rank LIMIT ?"
    k = max(need, 10) * (4 if filter else 1)
    while True:
        hits = conn.execute(sql, [match, k]).fetchall()
        inside = [
            (ns, key) for ns, key, _ in hits if not prefix or ns == prefix or ns.startswith(prefix + ".")
        ]
        found = fetch_items(conn, inside, now, filter)
        rows = []
        for ns, key, rank in hits:
            row = found.get((ns, key))
            if row is not None:
                rows.append(Row(ns, key, row.value, row.created_at, row.updated_at, row.ttl, -float(rank)))
        if len(rows) >= need or len(hits) < k:
            return rows[offset:need]
        k *= 4


def recent(
    conn: sqlite3.Connection,
    prefix: str,
    now: float,
    filter: Mapping[str, Any] | None,
    offset: int,
    limit: int,
) -> list[Row]:
    """Items newest (last updated) first."""
    where, params = where_clause(prefix, now, filter)
    sql = f"SELECT {_COLUMNS} FROM store_items i WHERE {' AND '.join(where)} ORDER BY i.updated_at DESC"
    return _take(_rows(conn.execute(sql, params), filter, scored=False), offset, limit)


def fetch_items(
    conn: sqlite3.Connection,
    keys: Sequence[tuple[str, str]],
    now: float,
    filter: Mapping[str, Any] | None,
) -> dict[tuple[str, str], Row]:
    """The items named by `keys` that exist, have not expired and pass `filter`."""
    found: dict[tuple[str, str], Row] = {}
    where, params = where_clause("", now, filter)
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        pairs = ", ".join("(?, ?)" for _ in chunk)
        sql = (  # the keys drive the join: one primary-key lookup each (an IN list would scan the table)
            f"SELECT {_COLUMNS} FROM (VALUES {pairs}) AS v CROSS JOIN store_items i ON i.namespace = v.column1 "
            f"AND i.key = v.column2 WHERE {' AND '.join(where)}"
        )
        flat = [part for pair in chunk for part in pair]
        for row in _rows(conn.execute(sql, [*flat, *params]), filter, scored=False):
            found[(row.namespace, row.key)] = row
    return found
