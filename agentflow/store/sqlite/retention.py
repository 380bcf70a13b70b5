"""Retention of a SQLite run database: pruning finished runs with all they kept, compacting a run's checkpoints.
A mixin of `SqliteStorage` (it uses the storage's writer, checkpointer and reads)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentflow.exceptions import RunBusyError
from agentflow.status import RunStatus
from agentflow.store.base import PruneReport, RunRecord

if TYPE_CHECKING:
    from agentflow.store.sqlite.writer import GroupCommitWriter

__all__ = ["FINISHED", "Retention"]

#: the statuses of runs that are over (and may be pruned)
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.BUDGET_EXHAUSTED)


class Retention:
    """`prune` and `compact` (see the module docstring)."""

    if TYPE_CHECKING:  # (what `SqliteStorage` provides)
        writer: GroupCommitWriter

        @property
        def checkpointer(self) -> Any: ...

        async def get_run(self, run_id: str) -> RunRecord: ...

    async def prune(
        self, *, older_than: datetime, keep_failed: bool = False, dry_run: bool = False
    ) -> PruneReport:
        statuses = [s for s in FINISHED if not (keep_failed and s is RunStatus.FAILED)]
        cutoff = older_than.astimezone(UTC).isoformat(timespec="microseconds")
        marks = ", ".join("?" for _ in statuses)
        select = f"SELECT id FROM runs WHERE created_at < ? AND status IN ({marks})"

        def apply(conn: sqlite3.Connection) -> PruneReport:
            ids = [r[0] for r in conn.execute(select, (cutoff, *statuses))]
            if not ids:
                return PruneReport(runs=[])
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS prune_ids (id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM prune_ids")
            conn.executemany("INSERT INTO prune_ids VALUES (?)", [(i,) for i in ids])
            events = conn.execute(
                "SELECT COUNT(*) FROM events WHERE run_id IN (SELECT id FROM prune_ids)"
            ).fetchone()[0]
            checkpoints = conn.execute(
                "SELECT COUNT(*) FROM checkpoints WHERE thread_id IN (SELECT id FROM prune_ids)"
            ).fetchone()[0]
            if not dry_run:
                for table, column in (
                    ("events", "run_id"),
                    ("tool_journal", "run_id"),
                    ("checkpoints", "thread_id"),
                    ("writes", "thread_id"),
                    ("runs", "id"),
                ):
                    conn.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM prune_ids)")
            conn.execute("DELETE FROM prune_ids")
            return PruneReport(runs=ids, events=events, checkpoints=checkpoints)

        return await self.writer.write(apply)

    async def compact(self, run_id: str) -> int:
        record = await self.get_run(run_id)
        if record.status in (RunStatus.RUNNING, RunStatus.QUEUED):
            raise RunBusyError(f"run {record.id} is {record.status}; compact it once it has finished")

        deleted: int = await self.checkpointer.prune_count([record.id], strategy="keep_latest")
        return deleted
