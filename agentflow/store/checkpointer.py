"""`TracingSaver`: LangGraph's SQLite checkpointer, committing agentflow's queued trace rows with each write.

A run's trace events are queued by `TraceWriter`; every checkpoint write takes them along in the same
transaction. So the trace is on disk exactly when the step it describes is,
and tracing costs no transactions or lock round-trips of its own.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentflow.store.writer import TraceWriter, run_in_transaction

__all__ = ["TracingSaver"]


class TracingSaver(AsyncSqliteSaver):
    writer: TraceWriter | None = None

    async def _take_along(self) -> None:
        statements = self.writer.take() if self.writer is not None else []
        if statements:
            async with self.lock:  # executed in an open transaction that the write below commits
                await self.conn._execute(run_in_transaction, self.conn._conn, statements, commit=False)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        await self._take_along()
        return await super().aput(config, checkpoint, metadata, new_versions)
