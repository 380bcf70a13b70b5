"""The SQLite run database's file format: recognising our own files, the schema and its migrations.

A file is agentflow's when its header carries agentflow's `application_id` (set before anything else when the
file is created), or — for files written before the marker existed — when it holds `agentflow_meta` with a
schema version. Everything else is refused *before anything writes to it*: the check reads the file's header
bytes (no SQLite connection at all) and, only for an older unmarked file, opens a read-only connection. A file
that is not SQLite, is cut short (its header says it has more pages than it does), or was written by a newer
agentflow is refused with a `StoreError` naming the file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from agentflow.exceptions import StoreError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "check_file", "migrate"]

#: `PRAGMA application_id` of every file agentflow creates ("AgFl")
APPLICATION_ID = 0x4167466C
SCHEMA_VERSION = 6

_MAGIC = b"SQLite format 3\x00"


def _adopt_notes(conn: sqlite3.Connection) -> None:
    """Notes kept by the notes tool in its own table (before the document store) move into the store."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notes'").fetchone() is None:
        return
    conn.execute(
        "INSERT OR IGNORE INTO store_items SELECT 'notes', CAST(id AS TEXT), json_object('text', text, 'run_id', "
        "run_id, 'created_at', created_at), created_at, created_at, NULL FROM notes"
    )
    conn.execute(
        "INSERT INTO store_fts (namespace, key, text) SELECT 'notes', CAST(id AS TEXT), text FROM notes"
    )


_MIGRATIONS: dict[int, list[str | Callable[[sqlite3.Connection], None]]] = {
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
    4: [
        # ownership by lease: a fencing token bumped by every claim, and an expiry the owner keeps renewing
        "ALTER TABLE runs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN lease_expires REAL",
        # values given to the run (e.g. user_id for memory namespaces), JSON
        "ALTER TABLE runs ADD COLUMN context TEXT",
        "CREATE INDEX IF NOT EXISTS runs_status ON runs(status, created_at)",
        # LangGraph's checkpoint tables (the layout of langgraph-checkpoint-sqlite, which older files have)
        """CREATE TABLE IF NOT EXISTS checkpoints (
            thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
            parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB, metadata BLOB,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id))""",
        """CREATE TABLE IF NOT EXISTS writes (
            thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
            task_id TEXT NOT NULL, task_path TEXT NOT NULL DEFAULT '', idx INTEGER NOT NULL,
            channel TEXT NOT NULL, type TEXT, value BLOB,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))""",
        # the document store (LangGraph's BaseStore): namespaced JSON items, full-text indexed text
        """CREATE TABLE IF NOT EXISTS store_items (
            namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, expires_at REAL, PRIMARY KEY (namespace, key))""",
        """CREATE VIRTUAL TABLE IF NOT EXISTS store_fts USING fts5(
            namespace UNINDEXED, key UNINDEXED, text, tokenize = 'porter unicode61')""",
        # writes tables made by older LangGraph savers lack task_path
        "ALTER TABLE writes ADD COLUMN task_path TEXT NOT NULL DEFAULT ''",
        _adopt_notes,
    ],
    5: [
        # memory (issue 18): per item, its TTL in minutes (refreshed on read), the fields its vectors embed
        # (JSON list; 'false': none; NULL: the store's default), the embedding model its vectors were made with
        # (NULL: none yet), and whether it waits for the background embedder (with a de-duplication threshold)
        "ALTER TABLE store_items ADD COLUMN ttl REAL",
        "ALTER TABLE store_items ADD COLUMN embed_fields TEXT",
        "ALTER TABLE store_items ADD COLUMN embedded TEXT",
        "ALTER TABLE store_items ADD COLUMN pending INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE store_items ADD COLUMN dedup REAL",
        "CREATE INDEX IF NOT EXISTS store_items_pending ON store_items(pending) WHERE pending = 1",
        "CREATE INDEX IF NOT EXISTS store_items_updated ON store_items(namespace, updated_at)",
        "CREATE INDEX IF NOT EXISTS store_items_expires ON store_items(expires_at) WHERE expires_at IS NOT NULL",
        # one row per embedded text of an item (a field path, or path.i for each element of a list)
        """CREATE TABLE IF NOT EXISTS store_vectors (
            namespace TEXT NOT NULL, key TEXT NOT NULL, path TEXT NOT NULL, model TEXT NOT NULL,
            vector BLOB NOT NULL, PRIMARY KEY (namespace, key, path))""",
        # full-text rows keyed by their item's rowid (deleting one by namespace and key scanned the whole
        # index), with the namespace indexed too (a search in one namespace scores only that namespace's
        # matches) but weighing nothing in BM25
        """CREATE VIRTUAL TABLE store_fts_by_item USING fts5(
            namespace, key UNINDEXED, text, tokenize = 'porter unicode61')""",
        "INSERT INTO store_fts_by_item (store_fts_by_item, rank) VALUES ('rank', 'bm25(0.0, 0.0, 1.0)')",
        "INSERT INTO store_fts_by_item (rowid, namespace, key, text) SELECT i.rowid, f.namespace, f.key, f.text "
        "FROM store_fts f JOIN store_items i ON i.namespace = f.namespace AND i.key = f.key",
        "DROP TABLE store_fts",
        "ALTER TABLE store_fts_by_item RENAME TO store_fts",
        # the embedding model the store's vectors belong to, and a counter bumped by every vector change (so a
        # process notices another one changed them and reloads its in-memory index)
        "INSERT OR IGNORE INTO agentflow_meta VALUES ('vectors_version', '0')",
    ],
    6: [
        # threads (a run continuing another's conversation), cross-process cancel requests, queued runs
        "ALTER TABLE runs ADD COLUMN thread_id TEXT",
        "ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN queued INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS runs_thread ON runs(thread_id, created_at) WHERE thread_id IS NOT NULL",
    ],
}


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None


def check_file(path: Path) -> bool:
    """Whether `path` is an existing agentflow database (False: no file or an empty one, to be created).
    Raises `StoreError` for anything agentflow must not open. Writes nothing, creates nothing."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not path.exists() or path.stat().st_size == 0:
        return False
    header = _header(path)
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise StoreError(
            f"{path} is not a usable SQLite database (no SQLite header); it may be another kind of "
            "file, or corrupt"
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    size_valid = header[92:96] == header[24:28]
    wal = path.with_name(path.name + "-wal")
    if size_valid and pages and path.stat().st_size < pages * page_size and not wal.exists():
        raise StoreError(
            f"{path} is not a usable SQLite database: it is truncated ({path.stat().st_size} bytes, "
            f"its header says {pages * page_size})"
        )
    application_id = int.from_bytes(header[68:72], "big")
    if application_id == APPLICATION_ID:
        return True
    if application_id != 0:
        raise StoreError(
            f"{path} is not an agentflow database (it belongs to another application, id "
            f"{application_id:#x}); pass another --db path"
        )
    _check_unmarked(path)
    return True


def _check_unmarked(path: Path) -> None:
    """A file without the marker is adopted only if an older agentflow wrote it (it has our schema version)."""
    try:
        ro = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a usable SQLite database ({exc})") from None
    try:
        ro.execute("PRAGMA busy_timeout = 30000")
        tables = {r[0] for r in ro.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        version = None
        if "agentflow_meta" in tables:
            row = ro.execute("SELECT value FROM agentflow_meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row else None
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} is not a usable SQLite database ({exc}); it may be corrupt or truncated"
        ) from None
    finally:
        ro.close()
    if version is None:
        listed = ", ".join(sorted(t for t in tables if not t.startswith("sqlite_"))[:5]) or "none"
        raise StoreError(
            f"{path} is not an agentflow database (no agentflow marker; its tables: {listed}); "
            "pass another --db path"
        )


OPEN_RETRY_S = 60.0  # how long opening a file keeps retrying while other processes set it up


def set_up(conn: sqlite3.Connection, path: Path, *, mark: bool) -> None:
    """Make `conn`'s file ready: marked as ours (`mark`: a new file, before anything else is in it), in WAL mode,
    at this schema. Processes opening one new file at once: switching to WAL needs every other connection out,
    and SQLite answers "locked" at once (no busy wait) where waiting could deadlock, so that is tried again."""
    deadline = time.monotonic() + OPEN_RETRY_S
    delay = 0.005
    while True:
        try:
            if mark:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return migrate(conn, path)
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema on `conn` (a connection in autocommit mode), in one transaction. A file
    already at this schema is only read (no write lock: opening never waits behind other processes' writes)."""
    if _schema_version(conn) == SCHEMA_VERSION and _application_id(conn) == APPLICATION_ID:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
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
                try:
                    statement(conn) if callable(statement) else conn.execute(statement)
                except sqlite3.OperationalError as exc:
                    if "duplicate column name" not in str(exc):  # tables LangGraph's own saver created first
                        raise
        conn.execute(
            "INSERT OR REPLACE INTO agentflow_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _schema_version(conn: sqlite3.Connection) -> int | None:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agentflow_meta'"
    ).fetchone()
    if not has_meta:
        return None
    row = conn.execute("SELECT value FROM agentflow_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _application_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA application_id").fetchone()[0])
