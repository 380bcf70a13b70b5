"""Retention of a PostgreSQL run database: pruning finished runs with all they kept, compacting a run's
checkpoints. A mixin of `PostgresStorage` (it uses the storage's database, checkpointer and reads)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentflow.exceptions import RunBusyError
from agentflow.status import RunStatus
from agentflow.store.base import PruneReport, RunRecord
from agentflow.store.postgres.connection import Conn, fetch
from agentflow.store.sqlite.retention import FINISHED

if TYPE_CHECKING:
    from agentflow.store.postgres.connection import Database

__all__ = ["Retention"]


class Retention:
    """`prune` and `compact` (see the module docstring)."""

    if TYPE_CHECKING:  # (what `PostgresStorage` provides)
        db: Database

        @property
        def checkpointer(self) -> Any: ...

        async def get_run(self, run_id: str) -> RunRecord: ...

    async def prune(
        self, *, older_than: datetime, keep_failed: bool = False, dry_run: bool = False
    ) -> PruneReport:
        statuses = [str(s) for s in FINISHED if not (keep_failed and s is RunStatus.FAILED)]
        cutoff = older_than.astimezone(UTC).isoformat(timespec="microseconds")

        async def apply(conn: Conn) -> PruneReport:
            found = await fetch(
                conn,
                "SELECT id FROM runs WHERE created_at < %s AND status = ANY(%s) ORDER BY id",
                (cutoff, statuses),
            )
            ids = [r["id"] for r in found]
            if not ids:
                return PruneReport(runs=[])
            counted = await fetch(
                conn,
                "SELECT (SELECT COUNT(*) FROM events WHERE run_id = ANY(%s)) AS events, "
                "(SELECT COUNT(*) FROM checkpoints WHERE thread_id = ANY(%s)) AS checkpoints",
                (ids, ids),
            )
            if not dry_run:
                for table, column in (
                    ("events", "run_id"),
                    ("tool_journal", "run_id"),
                    ("checkpoints", "thread_id"),
                    ("writes", "thread_id"),
                    ("runs", "id"),
                ):
                    await conn.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (ids,))
            return PruneReport(runs=ids, events=counted[0]["events"], checkpoints=counted[0]["checkpoints"])

        return await self.db.transact(apply)

    async def compact(self, run_id: str) -> int:
        record = await self.get_run(run_id)
        if record.status in (RunStatus.RUNNING, RunStatus.QUEUED):
            raise RunBusyError(f"run {record.id} is {record.status}; compact it once it has finished")
        deleted: int = await self.checkpointer.prune_count([record.id], strategy="keep_latest")
        return deleted
