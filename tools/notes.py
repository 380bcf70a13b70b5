"""`write_note` and `search_notes`: a small notebook kept in the run database, shared across runs.

Notes live in table `notes` (id, text, run_id, created_at) with an FTS5 index kept up to date by triggers.
Search quotes every word of the query, so quotes and FTS operators in user text are just words, ranks
matches by relevance, and falls back to a plain substring match when full-text search finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import sqlite_utils
from pydantic import Field

from agentflow.exceptions import ToolError
from agentflow.tooling import RunContext, tool

__all__ = ["search_notes", "write_note"]

TABLE = "notes"
BUSY_TIMEOUT_MS = 5000
_COLUMNS = ("id", "text", "run_id", "created_at")


def _db_path(ctx: RunContext) -> Path:
    if ctx.db_path is None:
        raise ToolError("notes need a run database; start the run with a database path")
    return Path(ctx.db_path)


@contextmanager
def _open(path: Path) -> Iterator[sqlite_utils.Database]:
    db = sqlite_utils.Database(path)
    try:
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        yield db
    finally:
        db.close()


@contextmanager
def _write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """`BEGIN IMMEDIATE`: take the write lock up front, so parallel writers wait (busy_timeout) instead of
    deadlocking on a read lock they cannot upgrade, and the schema check-then-create cannot race."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def _ensure_schema(db: sqlite_utils.Database) -> None:
    table = db.table(TABLE)
    if not table.exists():
        table.create({"id": int, "text": str, "run_id": str, "created_at": str}, pk="id",
                     not_null={"text", "run_id", "created_at"})
    if table.detect_fts() is None:
        table.enable_fts(["text"], create_triggers=True, tokenize="porter")


def fts_query(query: str) -> str | None:
    """An FTS5 query matching any word of `query`, each word quoted so no user text is FTS syntax."""
    words = re.findall(r"\w+", query)
    if not words:
        return None
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def _like_pattern(query: str) -> str:
    escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@tool(destructive=False, idempotent=False)
def write_note(text: Annotated[str, Field(min_length=1, max_length=2000)], ctx: RunContext) -> dict[str, Any]:
    """Save a note for later: facts, decisions or intermediate results. Notes persist across runs.

    Returns the new note's id.
    """
    if not text.strip():
        raise ToolError("the note is empty")
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    with _open(_db_path(ctx)) as db, _write_transaction(db):
        _ensure_schema(db)
        table = db.table(TABLE)
        table.insert({"text": text, "run_id": ctx.run_id, "created_at": created_at})
        note_id = table.last_pk
    return {"id": note_id, "run_id": ctx.run_id, "created_at": created_at}


@tool(read_only=True)
def search_notes(
    query: str,
    ctx: RunContext,
    limit: Annotated[int, Field(ge=1, le=20)] = 5,
) -> list[dict[str, Any]]:
    """Search saved notes (from this and earlier runs) by words, best matches first.

    An empty query lists the most recent notes.
    """
    path = _db_path(ctx)
    if not path.exists():  # nothing written yet; a read-only tool must not create the file
        return []
    with _open(path) as db:
        table = db.table(TABLE)
        if not table.exists():
            return []
        columns = ", ".join(f"{TABLE}.{c}" for c in _COLUMNS)
        match = fts_query(query)
        fts = table.detect_fts()
        if match is not None and fts is not None:
            rows = db.execute(
                f"SELECT {columns} FROM {TABLE} JOIN [{fts}] ON [{fts}].rowid = {TABLE}.rowid "
                f"WHERE [{fts}] MATCH ? ORDER BY [{fts}].rank, {TABLE}.id DESC LIMIT ?",
                [match, limit],
            ).fetchall()
            if rows:
                return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        rows = db.execute(
            f"SELECT {columns} FROM {TABLE} WHERE text LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?",
            [_like_pattern(query), limit],
        ).fetchall()
        return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
