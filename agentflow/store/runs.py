"""`RunStore`: reading run records and their ordered event traces (the CLI, tests, services).

Synchronous and thread-safe (one connection, one lock). The runner writes through `TraceWriter`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflow.approval import PendingCall
from agentflow.exceptions import StoreError, UnknownRunError
from agentflow.status import RunStatus
from agentflow.store.db import connect

__all__ = ["RunRecord", "RunStore", "TraceEvent"]


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _pending(text: str | None) -> list[PendingCall] | None:
    calls = _loads(text)
    return None if calls is None else [PendingCall.from_json(c) for c in calls]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    id: str
    graph: str
    input: Any
    status: RunStatus
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
    owner: str | None = None
    pending: list[PendingCall] | None = None
    forked_from: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        return cls(
            id=row["id"],
            graph=row["graph"],
            input=_loads(row["input"]),
            status=RunStatus(row["status"]),
            output=_loads(row["output"]),
            partial=_loads(row["partial"]),
            usage=_loads(row["usage"]) or {},
            cost_usd=row["cost_usd"] or 0.0,
            budget=_loads(row["budget"]) or {},
            budget_exhausted=row["budget_exhausted"],
            error=_loads(row["error"]),
            model=row["model"],
            settings=_loads(row["settings"]) or {},
            seed=row["seed"],
            parent_id=row["parent_id"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            wall_s=row["wall_s"] or 0.0,
            owner=row.get("owner"),
            pending=_pending(row.get("pending")),
            forked_from=row.get("forked_from"),
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

    def close(self) -> None:
        self.db.conn.close()

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                cursor = self.db.conn.execute(sql, params)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"reading {self.path} failed: {exc}") from None
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- runs -------------------------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> RunRecord:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            rows = self._read(
                "SELECT * FROM runs WHERE id LIKE ? ORDER BY created_at DESC LIMIT 2",
                (run_id.replace("%", "") + "%",),
            )
            if len(rows) != 1:
                raise UnknownRunError(f"no run '{run_id}' in {self.path}")
        return RunRecord.from_row(rows[0])

    def list_runs(self, *, limit: int = 20, status: str | None = None) -> list[RunRecord]:
        if status:
            rows = self._read(
                "SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit)
            )
        else:
            rows = self._read("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [RunRecord.from_row(r) for r in rows]

    # -- events -----------------------------------------------------------------------------------------------
    def journal(self, run_id: str) -> list[dict[str, Any]]:
        """The run's tool executions: call, status (started / finished), outcome."""
        rows = self._read("SELECT * FROM tool_journal WHERE run_id = ? ORDER BY started_at", (run_id,))
        for row in rows:
            row["arguments"] = _loads(row["arguments"])
            row["outcome"] = _loads(row["outcome"])
        return rows

    def events(self, run_id: str) -> list[TraceEvent]:
        rows = self._read("SELECT * FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
        return [
            TraceEvent(
                run_id=r["run_id"],
                seq=r["seq"],
                kind=r["kind"],
                step=r["step"],
                agent=r["agent"] or "",
                ts=r["ts"],
                data=json.loads(r["data"]),
            )
            for r in rows
        ]
