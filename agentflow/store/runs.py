"""`RunStore`: a synchronous, read-only view of a SQLite run database (scripts, tests, benchmarks).

It never writes: an agentflow file is opened read-only after `schema.check_file` has recognised it; runs are
written through the storage protocol (`agentflow.store.open_storage`). A file whose creation was cut short (a
process killed while it made the database: empty, or marked but without tables yet) reads as no runs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from agentflow.exceptions import StoreError, UnknownRunError
from agentflow.status import RunStatus
from agentflow.store.base import RunRecord, TraceEvent
from agentflow.store.sqlite.rows import record_from_row
from agentflow.store.sqlite.schema import check_file

__all__ = ["RunStore"]


class RunStore:
    """Runs and traces in the SQLite file at `path`, read-only. Thread-safe (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        if not check_file(self.path):
            if not self.path.exists():
                raise StoreError(f"no run database at {self.path}")
            return  # an empty file: a database whose creation was cut short holds no runs
        self._conn = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=30
        )
        self._conn.execute("PRAGMA busy_timeout = 30000")
        if not self._read("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'runs'"):
            self._conn.close()  # marked as ours, its tables not made yet: no runs
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if self._conn is None:
            return []
        with self._lock:
            try:
                cursor = self._conn.execute(sql, params)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"reading {self.path} failed: {exc}") from None

    def get_run(self, run_id: str) -> RunRecord:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            rows = self._read(
                "SELECT * FROM runs WHERE id LIKE ? ORDER BY created_at DESC LIMIT 2",
                (run_id.replace("%", "").replace("_", "") + "%",),
            )
            if len(rows) != 1:
                raise UnknownRunError(f"no run '{run_id}' in {self.path}")
        return record_from_row(rows[0])

    def list_runs(self, *, limit: int = 20, status: RunStatus | None = None) -> list[RunRecord]:
        if status:
            rows = self._read(
                "SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit)
            )
        else:
            rows = self._read("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [record_from_row(r) for r in rows]

    def journal(self, run_id: str) -> list[dict[str, Any]]:
        """The run's tool executions: call, status (started / finished), outcome."""
        rows = self._read("SELECT * FROM tool_journal WHERE run_id = ? ORDER BY started_at", (run_id,))
        for row in rows:
            row["arguments"] = json.loads(row["arguments"]) if row["arguments"] is not None else None
            row["outcome"] = json.loads(row["outcome"]) if row["outcome"] is not None else None
        return rows

    def events(self, run_id: str) -> list[TraceEvent]:
        rows = self._read("SELECT * FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
        return [TraceEvent.from_row(r) for r in rows]
