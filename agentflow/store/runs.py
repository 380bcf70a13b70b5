"""`RunStore`: run records and their ordered event traces in the run database.

Synchronous and thread-safe (one connection, one lock); the runner calls it from a worker thread so the event
loop never blocks on disk. Each write is one `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentflow.events import Event
from agentflow.exceptions import StoreError, UnknownRunError
from agentflow.store.db import connect

__all__ = ["RunRecord", "RunStore", "TraceEvent"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    id: str
    graph: str
    input: Any
    status: str
    output: Any
    partial: Any
    usage: dict[str, Any]
    cost_usd: float
    budget: dict[str, Any]
    budget_exhausted: str | None
    error: dict[str, str] | None
    model: str | None
    settings: dict[str, Any]
    seed: int | None
    parent_id: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    wall_s: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        return cls(
            id=row["id"], graph=row["graph"], input=_loads(row["input"]), status=row["status"],
            output=_loads(row["output"]), partial=_loads(row["partial"]), usage=_loads(row["usage"]) or {},
            cost_usd=row["cost_usd"] or 0.0, budget=_loads(row["budget"]) or {},
            budget_exhausted=row["budget_exhausted"], error=_loads(row["error"]), model=row["model"],
            settings=_loads(row["settings"]) or {}, seed=row["seed"], parent_id=row["parent_id"],
            created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"],
            wall_s=row["wall_s"] or 0.0,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEvent:
    run_id: str
    seq: int
    kind: str
    step: int | None
    agent: str
    ts: str
    data: dict[str, Any]


class RunStore:
    """Runs and traces in the SQLite file at `path` (created and migrated on open)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                conn.execute("ROLLBACK") if conn.in_transaction else None
                raise StoreError(f"writing to {self.path} failed: {exc}") from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                cursor = self.db.conn.execute(sql, params)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"reading {self.path} failed: {exc}") from None
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- runs -------------------------------------------------------------------------------------------------
    def create_run(self, *, run_id: str, graph: str, input: Any, model: str | None, settings: dict[str, Any],
                   seed: int | None, budget: dict[str, Any], parent_id: str | None = None) -> None:
        now = _now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (id, graph, input, status, usage, budget, model, settings, seed, parent_id, "
                "created_at, started_at) VALUES (?, ?, ?, 'running', '{}', ?, ?, ?, ?, ?, ?, ?)",
                (run_id, graph, _dumps(input), _dumps(budget), model, _dumps(settings), seed, parent_id, now, now),
            )
        self._seq[run_id] = 0

    def set_status(self, run_id: str, status: str, *, budget: dict[str, Any] | None = None) -> None:
        with self._write() as conn:
            if budget is None:
                conn.execute("UPDATE runs SET status = ?, finished_at = NULL WHERE id = ?", (status, run_id))
            else:
                conn.execute("UPDATE runs SET status = ?, finished_at = NULL, budget = ? WHERE id = ?",
                             (status, _dumps(budget), run_id))

    def finish_run(self, run_id: str, *, status: str, output: Any, partial: Any, usage: dict[str, Any],
                   budget_exhausted: str | None, error: dict[str, str] | None, event: Event | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, output = ?, partial = ?, usage = ?, cost_usd = ?, budget_exhausted = ?,"
                " error = ?, finished_at = ?, wall_s = ? WHERE id = ?",
                (status, _dumps(output), _dumps(partial), _dumps(usage), usage.get("cost_usd", 0.0),
                 budget_exhausted, _dumps(error) if error else None, _now(), usage.get("wall_s", 0.0), run_id),
            )
            if event is not None:
                self._insert_event(conn, event)

    def get_run(self, run_id: str) -> RunRecord:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            rows = self._read("SELECT * FROM runs WHERE id LIKE ? ORDER BY created_at DESC LIMIT 2",
                              (run_id.replace("%", "") + "%",))
            if len(rows) != 1:
                raise UnknownRunError(f"no run '{run_id}' in {self.path}")
        return RunRecord.from_row(rows[0])

    def list_runs(self, *, limit: int = 20, status: str | None = None) -> list[RunRecord]:
        if status:
            rows = self._read("SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit))
        else:
            rows = self._read("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [RunRecord.from_row(r) for r in rows]

    # -- events -----------------------------------------------------------------------------------------------
    def _insert_event(self, conn: sqlite3.Connection, event: Event, usage: dict[str, Any] | None = None) -> None:
        run_id = event.run_id
        if run_id not in self._seq:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,)).fetchone()
            self._seq[run_id] = row[0]
        self._seq[run_id] += 1
        data = event.data()
        conn.execute(
            "INSERT INTO events (run_id, seq, kind, step, agent, ts, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, self._seq[run_id], event.kind, data.get("step"), event.agent, _now(), _dumps(data)),
        )
        if usage is not None:
            conn.execute("UPDATE runs SET usage = ?, cost_usd = ?, wall_s = ? WHERE id = ?",
                         (_dumps(usage), usage.get("cost_usd", 0.0), usage.get("wall_s", 0.0), run_id))

    def append_event(self, event: Event, *, usage: dict[str, Any] | None = None) -> None:
        """Append `event` to its run's trace (and the run's usage so far, in the same transaction)."""
        with self._write() as conn:
            self._insert_event(conn, event, usage)

    def events(self, run_id: str) -> list[TraceEvent]:
        rows = self._read("SELECT * FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
        return [TraceEvent(run_id=r["run_id"], seq=r["seq"], kind=r["kind"], step=r["step"], agent=r["agent"] or "",
                           ts=r["ts"], data=json.loads(r["data"])) for r in rows]
