"""`PostgresCheckpointer`: LangGraph's checkpoint saver on agentflow's PostgreSQL group-commit writer.

Measured (bench/concurrency.py): `langgraph-checkpoint-postgres`'s `AsyncPostgresSaver` serialises every
operation of a saver instance on one lock and one connection, and commits each write on its own; this saver
has no lock of its own: a checkpoint is one write on the storage's writer, committed with whatever else is
waiting (other runs' checkpoints, trace events, journal marks), and reads use the pool. A checkpoint of a run
this process holds the lease of is fenced by the lease's token, so a process that lost the run cannot extend
its checkpoint chain — two workers racing for one run never fork it. Checkpoints are stored whole (type +
bytes from LangGraph's serializer), metadata as JSONB (filters are containment queries).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator, Sequence
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
from psycopg.types.json import Jsonb

from agentflow.exceptions import ConfigError
from agentflow.redaction import scrub_checkpoint, scrub_for
from agentflow.store.postgres.connection import Conn
from agentflow.store.postgres.writer import Write

if TYPE_CHECKING:
    from agentflow.store.postgres.storage import PostgresStorage

__all__ = ["PostgresCheckpointer"]

_COLUMNS = "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"
_WRITES = (
    "SELECT task_id, channel, type, value, task_path, idx FROM writes WHERE thread_id = %s AND "
    "checkpoint_ns = %s AND checkpoint_id = %s"
)


def _sort_key(row: Sequence[Any]) -> tuple[Any, ...]:
    task_id, _, _, _, task_path, idx = row
    return (task_path, task_id, idx)


class PostgresCheckpointer(BaseCheckpointSaver[str]):
    """Checkpoints of every run in the storage's PostgreSQL database (thread id = run id)."""

    def __init__(self, storage: PostgresStorage) -> None:
        super().__init__()
        self.storage = storage

    # ----------------------------------------------------------------------------------------------- reads

    async def _tuple(self, conn: Conn, row: Sequence[Any]) -> CheckpointTuple:
        thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type_, checkpoint, metadata = row
        cursor = await conn.execute(_WRITES, (thread_id, checkpoint_ns, checkpoint_id))
        writes = sorted(await cursor.fetchall(), key=_sort_key)
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
            self.serde.loads_typed((type_, bytes(checkpoint))),
            cast(CheckpointMetadata, metadata or {}),
            parent,
            [(w[0], w[1], self.serde.loads_typed((w[2], bytes(w[3])))) for w in writes],
        )

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id = str(config["configurable"]["thread_id"])
        checkpoint_ns = config["configurable"].get("checkpoint_ns", "")
        checkpoint_id = get_checkpoint_id(config)
        written = self.storage.fresh.get(thread_id)
        if written is not None and not checkpoint_id and checkpoint_ns not in written:
            return None  # a run this process just created: nothing written in this namespace yet

        async def read(conn: Conn) -> CheckpointTuple | None:
            if checkpoint_id:
                cursor = await conn.execute(
                    f"SELECT {_COLUMNS} FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s AND "
                    "checkpoint_id = %s",
                    (thread_id, checkpoint_ns, checkpoint_id),
                )
            else:
                cursor = await conn.execute(
                    f"SELECT {_COLUMNS} FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s "
                    "ORDER BY checkpoint_id DESC LIMIT 1",
                    (thread_id, checkpoint_ns),
                )
            row = await cursor.fetchone()
            return None if row is None else await self._tuple(conn, row)

        return await self.storage.db.read(read)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        wheres: list[str] = []
        params: list[Any] = []
        if config is not None:
            wheres.append("thread_id = %s")
            params.append(str(config["configurable"]["thread_id"]))
            checkpoint_ns = config["configurable"].get("checkpoint_ns")
            if checkpoint_ns is not None:
                wheres.append("checkpoint_ns = %s")
                params.append(checkpoint_ns)
            if checkpoint_id := get_checkpoint_id(config):
                wheres.append("checkpoint_id = %s")
                params.append(checkpoint_id)
        if filter:
            wheres.append("metadata @> %s")
            params.append(Jsonb(filter))
        if before is not None:
            wheres.append("checkpoint_id < %s")
            params.append(get_checkpoint_id(before))
        query = f"SELECT {_COLUMNS} FROM checkpoints"
        if wheres:
            query += " WHERE " + " AND ".join(wheres)
        query += " ORDER BY checkpoint_id DESC"
        if limit is not None:
            query += " LIMIT %s"
            params.append(limit)

        async def read(conn: Conn) -> list[CheckpointTuple]:
            cursor = await conn.execute(query, params)
            return [await self._tuple(conn, row) for row in await cursor.fetchall()]

        for item in await self.storage.db.read(read):
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
        meta = json.loads(
            json.dumps(get_checkpoint_metadata(config, metadata), default=str).replace("\\u0000", "")
        )
        statement = (
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
            "checkpoint, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (thread_id, checkpoint_ns, "
            "checkpoint_id) DO UPDATE SET parent_checkpoint_id = excluded.parent_checkpoint_id, type = "
            "excluded.type, checkpoint = excluded.checkpoint, metadata = excluded.metadata",
            (
                thread_id,
                checkpoint_ns,
                checkpoint["id"],
                config["configurable"].get("checkpoint_id"),
                type_,
                blob,
                Jsonb(meta),
            ),
        )
        await self._write(thread_id, [statement])
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
        replace = all(w[0] in WRITES_IDX_MAP for w in writes)
        conflict = (
            "DO UPDATE SET channel = excluded.channel, type = excluded.type, value = excluded.value"
            if replace
            else "DO NOTHING"
        )
        thread_id = str(config["configurable"]["thread_id"])
        statement = (
            "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
            "type, value) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (thread_id, checkpoint_ns, "
            f"checkpoint_id, task_id, idx) {conflict}"
        )
        statements = [
            (
                statement,
                (
                    thread_id,
                    str(config["configurable"]["checkpoint_ns"]),
                    str(config["configurable"]["checkpoint_id"]),
                    task_id,
                    task_path,
                    WRITES_IDX_MAP.get(channel, idx),
                    channel,
                    *self.serde.dumps_typed(scrub_for(thread_id, value)),
                ),
            )
            for idx, (channel, value) in enumerate(writes)
        ]
        await self._write(thread_id, statements)

    async def _write(self, thread_id: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """A run's checkpoint write: fenced by the lease this process holds on it, with the run's queued trace
        events in the same transaction; any other thread's is a plain write."""
        token = self.storage.leases.get(thread_id)
        if token is None:
            await self.storage.writer.write(Write(list(statements)))
        else:
            await self.storage.run_write(thread_id, list(statements), token=token)

    async def adelete_thread(self, thread_id: str) -> None:
        async def apply(conn: Conn) -> None:
            await conn.execute("DELETE FROM checkpoints WHERE thread_id = %s", (str(thread_id),))
            await conn.execute("DELETE FROM writes WHERE thread_id = %s", (str(thread_id),))

        await self.storage.db.transact(apply)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        async def apply(conn: Conn) -> None:
            await conn.execute("DELETE FROM checkpoints WHERE thread_id = %s", (target_thread_id,))
            await conn.execute("DELETE FROM writes WHERE thread_id = %s", (target_thread_id,))
            await conn.execute(
                "INSERT INTO checkpoints SELECT %s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
                "checkpoint, metadata FROM checkpoints WHERE thread_id = %s",
                (target_thread_id, source_thread_id),
            )
            await conn.execute(
                "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
                "channel, type, value) SELECT %s, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
                "channel, type, value FROM writes WHERE thread_id = %s",
                (target_thread_id, source_thread_id),
            )

        await self.storage.db.transact(apply)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the newest checkpoint of each namespace of these threads (`keep_latest`), or delete
        them all (`delete`)."""
        await self.prune_count(thread_ids, strategy=strategy)

    async def prune_count(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> int:
        """`aprune`, returning how many checkpoints were deleted."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r} (keep_latest or delete)")
        ids = [str(t) for t in thread_ids]

        async def apply(conn: Conn) -> int:
            if strategy == "delete":
                cursor = await conn.execute("DELETE FROM checkpoints WHERE thread_id = ANY(%s)", (ids,))
                await conn.execute("DELETE FROM writes WHERE thread_id = ANY(%s)", (ids,))
                return cursor.rowcount
            keep = (
                "SELECT thread_id, checkpoint_ns, MAX(checkpoint_id) AS newest FROM checkpoints "
                "WHERE thread_id = ANY(%s) GROUP BY thread_id, checkpoint_ns"
            )
            cursor = await conn.execute(
                f"DELETE FROM checkpoints c USING ({keep}) k WHERE c.thread_id = k.thread_id AND "
                "c.checkpoint_ns = k.checkpoint_ns AND c.checkpoint_id <> k.newest",
                (ids,),
            )
            deleted = cursor.rowcount
            await conn.execute(
                "DELETE FROM writes w WHERE w.thread_id = ANY(%s) AND NOT EXISTS (SELECT 1 FROM checkpoints c "
                "WHERE c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns AND "
                "c.checkpoint_id = w.checkpoint_id)",
                (ids,),
            )
            await conn.execute(
                "UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = ANY(%s)", (ids,)
            )
            return deleted

        deleted: int = await self.storage.db.transact(apply)
        return deleted

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) LangGraph recorded for these LangGraph run ids."""
        ids = [str(r) for r in run_ids]

        async def apply(conn: Conn) -> None:
            await conn.execute(
                "DELETE FROM writes w USING checkpoints c WHERE c.metadata->>'run_id' = ANY(%s) AND "
                "w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns AND "
                "w.checkpoint_id = c.checkpoint_id",
                (ids,),
            )
            await conn.execute("DELETE FROM checkpoints WHERE metadata->>'run_id' = ANY(%s)", (ids,))

        await self.storage.db.transact(apply)

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonically increasing version ids (as LangGraph's own savers write them)."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # sync API: agentflow runs on asyncio (LangGraph calls the async methods)
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        raise ConfigError("use the async API: agentflow's PostgreSQL saver is async only")

    def list(self, *args: Any, **kwargs: Any) -> Iterator[CheckpointTuple]:
        raise ConfigError("use the async API: agentflow's PostgreSQL saver is async only")
