"""Group commit on PostgreSQL: the writes of all of a process's runs, batched into few transactions.

A write is a list of statements (a checkpoint, a journal mark, a run record), a run's trace events and its
latest usage, and optionally a fencing token. Writers queue; the first one to find its lane idle *leads*: it
takes everything queued in that lane and commits it as one transaction (statements pipelined: one round trip
to send them, one to commit), then hands the lead to the next waiter, if any. Under load many runs share one
transaction; alone, a write costs one transaction. Runs are spread over `lanes` lanes by run id (a run's
writes stay in order in its lane), so that many transactions are in flight at once.

Fencing: the transaction first locks the rows of the fenced runs (`FOR SHARE`) and reads their lease tokens;
a write whose token is not the run's current one is refused (`LeaseLostError`) and applies nothing. A claim
updates the token under `FOR UPDATE`, so it waits for that transaction: no write of a lost lease lands after
a claim. Trace events get their per-run sequence numbers in SQL (one insert per run per batch). If a batch
fails on a statement, its writes are retried one per transaction, so a bad write fails alone.

Waiting is shielded from cancellation: a write that was queued is finished (or fails) before its caller sees
a cancellation — bounded by the database's retry window.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from agentflow.exceptions import LeaseLostError, StoreError
from agentflow.store.postgres.connection import Conn, Database

__all__ = ["EventRow", "GroupCommitWriter", "Write"]

MAX_BATCH = 1000

#: a trace event to insert: (kind, step, agent, ts, data as JSON text)
EventRow = tuple[str, int | None, str, str, str]

_INSERT_EVENTS = (
    "INSERT INTO events (run_id, seq, kind, step, agent, ts, data) "
    "SELECT %(run)s, base.m + t.ord, t.kind, t.step, t.agent, t.ts, t.data "
    "FROM (SELECT COALESCE(MAX(seq), 0) AS m FROM events WHERE run_id = %(run)s) AS base, "
    "unnest(%(kinds)s::text[], %(steps)s::int[], %(agents)s::text[], %(ts)s::text[], %(data)s::text[]) "
    "WITH ORDINALITY AS t(kind, step, agent, ts, data, ord)"
)
_USAGE = (
    "UPDATE runs SET usage = %s, cost_usd = %s, wall_s = %s WHERE id = %s "
    "AND (%s::bigint IS NULL OR lease_token = %s::bigint)"
)


@dataclass(slots=True, eq=False)
class Write:
    """One write of the process (see the module docstring)."""

    statements: list[tuple[str, Sequence[Any] | dict[str, Any]]] = field(default_factory=list)
    run_id: str | None = None
    token: int | None = None
    events: list[EventRow] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    done: bool = False
    error: BaseException | None = None
    wake: anyio.Event = field(default_factory=anyio.Event)


@dataclass(slots=True)
class _Lane:
    queue: deque[Write] = field(default_factory=deque)
    leading: bool = False


@dataclass(slots=True)
class Stats:
    transactions: int = 0
    writes: int = 0


class GroupCommitWriter:
    """Batches writes into transactions on `db` (module docstring)."""

    def __init__(self, db: Database, *, lanes: int = 2) -> None:
        self.db = db
        self.lanes = [_Lane() for _ in range(max(1, lanes))]
        self.stats = Stats()

    def _lane(self, run_id: str | None) -> _Lane:
        return self.lanes[hash(run_id) % len(self.lanes)] if run_id is not None else self.lanes[0]

    async def write(self, write: Write) -> None:
        """Queue `write` and return once it is committed (raising what it failed with)."""
        await self._submit(self._lane(write.run_id), write)
        if write.error is not None:
            raise write.error

    async def flush(self) -> None:
        """Return once every write queued so far (in every lane) is committed."""
        for lane in self.lanes:
            await self._submit(lane, Write())

    async def _submit(self, lane: _Lane, write: Write) -> None:
        lane.queue.append(write)
        with anyio.CancelScope(shield=True):
            if lane.leading:
                await write.wake.wait()
            if write.done:
                return
            lane.leading = True  # this caller leads the lane now: its write is first in the queue
            try:
                batch = [lane.queue.popleft() for _ in range(min(len(lane.queue), MAX_BATCH))]
                await self._commit(batch)
            finally:
                if lane.queue:  # hand the lead to the next waiter
                    lane.queue[0].wake.set()
                else:
                    lane.leading = False

    async def _commit(self, batch: list[Write]) -> None:
        try:
            await self.db.transact(lambda conn: self._apply(conn, batch))
        except Exception as exc:
            if len(batch) > 1 and isinstance(exc, StoreError):  # a statement failed, not the server
                for write in batch:  # one at a time, so that a bad write fails alone
                    write.error = None
                    await self._commit([write])
                return
            for write in batch:
                write.error = exc
        self.stats.transactions += 1
        self.stats.writes += len(batch)
        for write in batch:
            write.done = True
            write.wake.set()

    async def _apply(self, conn: Conn, batch: list[Write]) -> None:
        fenced = sorted({w.run_id for w in batch if w.token is not None and w.run_id is not None})
        tokens: dict[str, int] = {}
        async with conn.cursor() as cursor:
            if fenced:
                await cursor.execute(
                    "SELECT id, lease_token FROM runs WHERE id = ANY(%s) ORDER BY id FOR SHARE", (fenced,)
                )
                tokens = {r[0]: r[1] for r in await cursor.fetchall()}
            accepted: list[Write] = []
            for write in batch:
                write.error = None
                if write.token is not None and tokens.get(write.run_id or "") != write.token:
                    write.error = LeaseLostError(
                        f"run {write.run_id}: this process no longer holds its lease (another process took "
                        "the run over); nothing more is written"
                    )
                else:
                    accepted.append(write)
            events: dict[str, list[EventRow]] = {}
            usage: dict[str, tuple[dict[str, Any], int | None]] = {}
            async with conn.pipeline():
                for write in accepted:
                    for statement, params in write.statements:
                        await cursor.execute(statement, params)
                    if write.run_id is not None:
                        if write.events:
                            events.setdefault(write.run_id, []).extend(write.events)
                        if write.usage is not None:
                            usage[write.run_id] = (write.usage, write.token)
                for run_id, rows in events.items():
                    await cursor.execute(
                        _INSERT_EVENTS,
                        {
                            "run": run_id,
                            "kinds": [r[0] for r in rows],
                            "steps": [r[1] for r in rows],
                            "agents": [r[2] for r in rows],
                            "ts": [r[3] for r in rows],
                            "data": [r[4] for r in rows],
                        },
                    )
                if usage:
                    await cursor.executemany(
                        _USAGE,
                        [
                            (
                                json.dumps(values),
                                values.get("cost_usd", 0.0),
                                values.get("wall_s", 0.0),
                                run_id,
                                token,
                                token,
                            )
                            for run_id, (values, token) in usage.items()
                        ],
                    )
