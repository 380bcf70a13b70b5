"""The run database: one SQLite file holding runs, their traces, tool data and LangGraph checkpoints.

Path: `--db PATH`, else `$AGENTFLOW_DB`, else `$XDG_DATA_HOME/agentflow/agentflow.db`
(`~/.local/share/agentflow/agentflow.db`). WAL mode lets readers work while a run writes; writes take the
lock up front (`BEGIN IMMEDIATE`) so a read never has to upgrade to a write mid-transaction.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from agentflow.exceptions import StoreError

__all__ = ["SCHEMA_VERSION", "connect", "default_db_path", "resolve_db_path"]

SCHEMA_VERSION = 3
_OWN_TABLES = {"agentflow_meta", "runs", "events", "tool_journal"}
_KNOWN_PREFIXES = (
    "notes",
    "checkpoints",
    "writes",
    "sqlite_",
)  # tools' and LangGraph's tables share the file


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentflow" / "agentflow.db"


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """`db` if given, else `$AGENTFLOW_DB`, else the default path."""
    if db is not None:
        return Path(db).expanduser()
    env = os.environ.get("AGENTFLOW_DB")
    return Path(env).expanduser() if env else default_db_path()


_MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY, graph TEXT NOT NULL, input TEXT, status TEXT NOT NULL, output TEXT,
            partial TEXT, usage TEXT, cost_usd REAL DEFAULT 0, budget TEXT, budget_exhausted TEXT,
            error TEXT, model TEXT, settings TEXT, seed INTEGER, parent_id TEXT,
            created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, wall_s REAL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at)",
        """CREATE TABLE IF NOT EXISTS events (
            run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, step INTEGER, agent TEXT,
            ts TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq))""",
    ],
    2: [
        # who is executing a run now ("host:pid:token"), the calls awaiting a human, where a fork came from
        "ALTER TABLE runs ADD COLUMN owner TEXT",
        "ALTER TABLE runs ADD COLUMN pending TEXT",
        "ALTER TABLE runs ADD COLUMN forked_from TEXT",
        # every tool execution: 'started' is on disk before the tool runs, 'finished' with its outcome after
        """CREATE TABLE IF NOT EXISTS tool_journal (
            run_id TEXT NOT NULL, task TEXT NOT NULL, call_id TEXT NOT NULL, tool TEXT NOT NULL,
            arguments TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT, started_at TEXT NOT NULL,
            finished_at TEXT, PRIMARY KEY (run_id, task, call_id))""",
    ],
    3: [
        # event kinds are their class names in snake case (agentflow.events.EVENT_TYPES)
        *(
            f"UPDATE events SET kind = '{new}' WHERE kind = '{old}'"
            for old, new in (
                ("model_decision", "model_called"),
                ("tool_result", "tool_called"),
                ("error", "run_errored"),
                ("final", "run_finished"),
            )
        ),
    ],
}


def _check_foreign(conn: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    foreign = {t for t in tables - _OWN_TABLES if not t.startswith(_KNOWN_PREFIXES)}
    if "agentflow_meta" not in tables and foreign:
        raise StoreError(
            f"{path} is not an agentflow database (it has tables {', '.join(sorted(foreign)[:5])}); "
            "pass another --db path"
        )


def _inspect_read_only(path: Path) -> None:
    """Check an existing file on a read-only connection: setting WAL mode (or migrating) would modify it."""
    ro = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        ro.execute("PRAGMA busy_timeout = 30000")
        _check_foreign(ro, path)
        ro.execute("PRAGMA schema_version").fetchone()  # reads the header: a corrupt file fails here
    finally:
        ro.close()


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        _check_foreign(conn, path)
        conn.execute("CREATE TABLE IF NOT EXISTS agentflow_meta (key TEXT PRIMARY KEY, value TEXT)")
        row = conn.execute("SELECT value FROM agentflow_meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer agentflow (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade agentflow"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target]:
                conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO agentflow_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def connect(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database at `path`; raise `StoreError` if it is unusable."""
    if path.exists() and path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder for {path}: {exc.strerror}") from None
    try:
        if path.exists() and path.stat().st_size > 0:
            _inspect_read_only(path)  # refuse a foreign or corrupt file before anything writes to it
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} is not a usable SQLite database ({exc}); it may be corrupt or truncated"
        ) from None
    return sqlite_utils.Database(conn)
