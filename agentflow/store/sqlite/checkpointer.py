"""`SqliteCheckpointer`: LangGraph's checkpoint saver on agentflow's group-commit writer.

Same tables and row layout as `langgraph-checkpoint-sqlite` (files written by it stay readable), but no
instance-wide lock and no connection of its own: a checkpoint is one request on the storage's writer, committed
with whatever else is waiting (other runs' checkpoints, trace events, journal marks) in one transaction; reads
go to the storage's read connections. A checkpoint of a run this process holds the lease of is fenced by
the lease's token, so a process that lost the run cannot extend its checkpoint chain.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite.utils import load_pending_writes, pending_writes_sql, search_where

from agentflow.redaction import scrub_checkpoint, scrub_for

if TYPE_CHECKING:
    from agentflow.store.sqlite.storage import SqliteStorage

__all__ = ["SqliteCheckpointer"]

_PENDING = pending_writes_sql(True)


class SqliteCheckpointer(BaseCheckpointSaver[str]):
    """Checkpoints of every run in the storage's SQLite file (thread id = run id)."""

    def __init__(self, storage: SqliteStorage) -> None:
        super().__init__()
        self.storage = storage

    def _token(self, thread_id: str) -> int | None:
        return self.storage.leases.get(thread_id)

    # ----------------------------------------------------------------------------------------------- reads

    def _tuple(self, conn: sqlite3.Connection, row: Sequence[Any], checkpoint_ns: str) -> CheckpointTuple:
        thread_id, checkpoint_id, parent_checkpoint_id, type_, checkpoint, metadata = row
        writes = conn.execute(_PENDING, (thread_id, checkpoint_ns, checkpoint_id)).fetchall()
        config: RunnableConfig = {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint_id,
            }
        }
        parent: RunnableConfig | None = None
        if parent_checkpoint_id:
            parent = {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint_ns,
                    "checkpoint_id": parent_checkpoint_id,
                }
            }
        return CheckpointTuple(
            config,
            self.serde.loads_typed((type_, checkpoint)),
            cast(CheckpointMetadata, json.loads(metadata) if metadata is not None else {}),
            parent,
            load_pending_writes(writes, self.serde),
        )

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id = str(config["configurable"]["thread_id"])
        checkpoint_ns = config["configurable"].get("checkpoint_ns", "")
        checkpoint_id = get_checkpoint_id(config)
        written = self.storage.fresh.get(thread_id)
        if written is not None and not checkpoint_id and checkpoint_ns not in written:
            return None  # a run this process just created: nothing written in this namespace yet

        def read(conn: sqlite3.Connection) -> CheckpointTuple | None:
            columns = "thread_id, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"
            if checkpoint_id:
                row = conn.execute(
                    f"SELECT {columns} FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND "
                    "checkpoint_id = ?",
                    (thread_id, checkpoint_ns, checkpoint_id),
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT {columns} FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                    "ORDER BY checkpoint_id DESC LIMIT 1",
                    (thread_id, checkpoint_ns),
                ).fetchone()
            return None if row is None else self._tuple(conn, row, checkpoint_ns)

        return await self.storage.readers.run(read)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        where, params = search_where(config, filter, before)
        query = (
            f"SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
            f"FROM checkpoints {where} ORDER BY checkpoint_id DESC"
        )
        if limit is not None:
            query += " LIMIT ?"
            params = (*params, limit)

        def read(conn: sqlite3.Connection) -> list[CheckpointTuple]:
            out = []
            for thread_id, ns, checkpoint_id, parent_id, type_, checkpoint, metadata in conn.execute(
                query, params
            ):
                out.append(
                    self._tuple(conn, (thread_id, checkpoint_id, parent_id, type_, checkpoint, metadata), ns)
                )
            return out

        for item in await self.storage.readers.run(read):
            yield item

    # ---------------------------------------------------------------------------------------------- writes

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id = str(config["configurable"]["thread_id"])
        checkpoint_ns = config["configurable"]["checkpoint_ns"]
        checkpoint = scrub_checkpoint(
            thread_id, checkpoint
        )  # a run's sensitive values never reach a checkpoint
        type_, blob = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False).encode(
            "utf-8", "ignore"
        )
        params = (
            thread_id,
            checkpoint_ns,
            checkpoint["id"],
            config["configurable"].get("checkpoint_id"),
            type_,
            blob,
            meta,
        )

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                params,
            )

        await self._write(thread_id, apply)
        written = self.storage.fresh.get(thread_id)
        if written is not None:
            written.add(checkpoint_ns)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        verb = "REPLACE" if all(w[0] in WRITES_IDX_MAP for w in writes) else "IGNORE"
        thread_id = str(config["configurable"]["thread_id"])
        rows = [
            (
                thread_id,
                str(config["configurable"]["checkpoint_ns"]),
                str(config["configurable"]["checkpoint_id"]),
                task_id,
                task_path,
                WRITES_IDX_MAP.get(channel, idx),
                channel,
                *self.serde.dumps_typed(scrub_for(thread_id, value)),
            )
            for idx, (channel, value) in enumerate(writes)
        ]

        def apply(conn: sqlite3.Connection) -> None:
            conn.executemany(
                f"INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
                "task_path, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        await self._write(thread_id, apply)

    async def _write(self, thread_id: str, apply: Any) -> None:
        """A run's checkpoint write: fenced by the lease this process holds on it, with the run's queued trace
        events in the same request; any other thread's is a plain write."""
        token = self._token(thread_id)
        if token is None:
            await self.storage.writer.write(apply)
        else:
            await self.storage.run_write(thread_id, apply, token=token)

    async def adelete_thread(self, thread_id: str) -> None:
        def apply(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (str(thread_id),))
            conn.execute("DELETE FROM writes WHERE thread_id = ?", (str(thread_id),))

        await self.storage.writer.write(apply)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        def apply(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (target_thread_id,))
            conn.execute("DELETE FROM writes WHERE thread_id = ?", (target_thread_id,))
            conn.execute(
                "INSERT INTO checkpoints SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
                "checkpoint, metadata FROM checkpoints WHERE thread_id = ?",
                (target_thread_id, source_thread_id),
            )
            conn.execute(
                "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
                "channel, type, value) SELECT ?, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
                "channel, type, value FROM writes WHERE thread_id = ?",
                (target_thread_id, source_thread_id),
            )

        await self.storage.writer.write(apply)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the newest checkpoint of each namespace of these threads (`keep_latest`), or delete
        them all (`delete`)."""
        await self.prune_count(thread_ids, strategy=strategy)

    async def prune_count(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> int:
        """`aprune`, returning how many checkpoints were deleted."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r} (keep_latest or delete)")
        ids = [str(t) for t in thread_ids]

        def apply(conn: sqlite3.Connection) -> int:
            deleted = 0
            for thread_id in ids:
                if strategy == "delete":
                    deleted += conn.execute(
                        "DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,)
                    ).rowcount
                    conn.execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))
                    continue
                newest = conn.execute(
                    "SELECT checkpoint_ns, MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
                    "GROUP BY checkpoint_ns",
                    (thread_id,),
                ).fetchall()
                for ns, checkpoint_id in newest:
                    where = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id <> ?"
                    deleted += conn.execute(
                        f"DELETE FROM checkpoints WHERE {where}", (thread_id, ns, checkpoint_id)
                    ).rowcount
                    conn.execute(f"DELETE FROM writes WHERE {where}", (thread_id, ns, checkpoint_id))
                    conn.execute(
                        "UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = ? AND "
                        "checkpoint_ns = ?",
                        (thread_id, ns),
                    )
            return deleted

        deleted: int = await self.storage.writer.write(apply)
        return deleted

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) LangGraph recorded for these LangGraph run ids."""
        ids = [str(r) for r in run_ids]

        def apply(conn: sqlite3.Connection) -> None:
            for run_id in ids:
                rows = conn.execute(
                    "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE "
                    "json_extract(CAST(metadata AS TEXT), '$.run_id') = ?",
                    (run_id,),
                ).fetchall()
                for key in rows:
                    conn.execute(
                        "DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
                        key,
                    )
                    conn.execute(
                        "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND "
                        "checkpoint_id = ?",
                        key,
                    )

        await self.storage.writer.write(apply)

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonically increasing version ids (as LangGraph's SQLite saver writes them)."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"
