"""`TraceWriter`: the runner's writes to the run database (run records and trace events), async.

It shares LangGraph's checkpointer connection and lock, so trace writes and checkpoint writes never contend
for SQLite's write lock. Trace events are queued and written by a background task in batches (one
transaction each), so a run does not wait for the disk at every event; `flush()` waits until everything
queued so far is on disk, and run records (create / finish) are always written before returning.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import anyio

from agentflow.events import Event
from agentflow.exceptions import RunBusyError, StoreError, UnknownRunError
from agentflow.store.owner import owner_alive, process_owner

__all__ = ["TraceWriter"]

_INSERT_EVENT = (
    "INSERT INTO events (run_id, seq, kind, step, agent, ts, data) VALUES "
    "(?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?), ?, ?, ?, ?, ?)"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class TraceWriter:
    """Writes through an `aiosqlite` connection, holding `lock` for each transaction.

    Start `run()` in a task group for queued writes; without it `append` writes synchronously.
    """

    def __init__(self, conn: Any, lock: Any) -> None:
        self.conn = conn
        self.lock = lock
        self._queue: list[tuple[str, tuple[Any, ...]]] = []
        self._queued = 0  # generation of the last queued batch
        self._written = 0  # generation of the last batch on disk
        self._waiters: list[tuple[int, anyio.Event]] = []
        self._wakeup = anyio.Event()
        self._running = False
        self._error: BaseException | None = None

    async def run(self) -> None:
        """The background writer: drains the queue until cancelled (then drains it once more)."""
        self._running = True
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup = anyio.Event()
                await self._drain()
        finally:
            self._running = False
            with anyio.CancelScope(shield=True):
                await self._drain()

    async def _drain(self) -> None:
        if not self._queue:
            return
        statements, self._queue = self._queue, []
        generation = self._queued
        try:
            await self._transaction(statements)
        except Exception as exc:  # surfaced by the next flush or append; the queue's content is lost
            self._error = exc
        self._written = generation
        still_waiting = []
        for wanted, event in self._waiters:
            if wanted <= generation:
                event.set()
            else:
                still_waiting.append((wanted, event))
        self._waiters = still_waiting

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise StoreError(f"writing the trace failed: {error}") from error

    async def flush(self) -> None:
        """Return once everything queued so far is on disk."""
        self._raise_if_failed()
        if self._written >= self._queued:
            return
        if not self._running:
            await self._drain()
        else:
            done = anyio.Event()
            self._waiters.append((self._queued, done))
            await done.wait()
        self._raise_if_failed()

    async def _transaction(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock up front: never a read upgrading to a write
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        async with self.lock:
            # one hop to aiosqlite's thread for the whole transaction, not one per statement
            await self.conn._execute(run, self.conn._conn)

    @staticmethod
    def _event_rows(events: Sequence[Event]) -> list[tuple[str, tuple[Any, ...]]]:
        rows = []
        for event in events:
            data = event.data()
            rows.append((_INSERT_EVENT, (event.run_id, event.run_id, event.kind, data.get("step"), event.agent,
                                         _now(), _dumps(data))))
        return rows

    async def create_run(self, *, run_id: str, graph: str, input: Any, model: str | None,
                         settings: dict[str, Any], seed: int | None, budget: dict[str, Any],
                         parent_id: str | None = None, forked_from: str | None = None,
                         usage: dict[str, Any] | None = None, events: Sequence[Event] = ()) -> None:
        now = _now()
        await self._write_now([
            ("INSERT INTO runs (id, graph, input, status, usage, budget, model, settings, seed, parent_id, "
             "forked_from, created_at, started_at, owner) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             (run_id, graph, _dumps(input), _dumps(usage or {}), _dumps(budget), model, _dumps(settings), seed,
              parent_id, forked_from, now, now, process_owner())),
            *self._event_rows(events),
        ])

    async def claim(self, run_id: str, *, budget: dict[str, Any], events: Sequence[Event] = (),
                    pending: list[dict[str, Any]] | None = None) -> str:
        """Make this process the run's executor; return the run's previous status.

        Raises `RunBusyError` if another live process is executing it.
        """
        await self.flush()

        def run(conn: sqlite3.Connection) -> str:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT status, owner FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    raise UnknownRunError(f"no run '{run_id}'")
                status, owner = row
                if status == "running" and owner != process_owner() and owner_alive(owner):
                    raise RunBusyError(f"run {run_id} is being executed by another process ({owner}); "
                                       "wait for it to finish or stop that process")
                conn.execute("UPDATE runs SET status = 'running', finished_at = NULL, budget = ?, owner = ?, "
                             "pending = ? WHERE id = ?",
                             (_dumps(budget), process_owner(), _dumps(pending) if pending else None, run_id))
                for sql, params in self._event_rows(events):
                    conn.execute(sql, params)
                conn.execute("COMMIT")
                return status
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        async with self.lock:
            return await self.conn._execute(run, self.conn._conn)

    async def update_pending(self, run_id: str, expected: list[dict[str, Any]],
                             pending: list[dict[str, Any]]) -> None:
        """Store decisions on a paused run's calls, unless another process changed them meanwhile."""
        await self.flush()

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT status, pending FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None or row[0] != "awaiting_approval" or json.loads(row[1] or "null") != expected:
                    raise RunBusyError(f"run {run_id} changed while deciding (another process decided or "
                                       "resumed it); look at `agentflow pending` again")
                conn.execute("UPDATE runs SET pending = ? WHERE id = ?", (_dumps(pending), run_id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        async with self.lock:
            await self.conn._execute(run, self.conn._conn)

    # -- the tool journal --------------------------------------------------------------------------------------
    async def journal_start(self, run_id: str, task: str, call_id: str, tool: str,
                            arguments: dict[str, Any]) -> None:
        """On disk before the tool runs, so a crash mid-call is detectable."""
        await self._write_now([(
            "INSERT OR REPLACE INTO tool_journal (run_id, task, call_id, tool, arguments, status, started_at) "
            "VALUES (?, ?, ?, ?, ?, 'started', ?)", (run_id, task, call_id, tool, _dumps(arguments), _now()))])

    async def journal_finish_later(self, run_id: str, task: str, call_id: str, tool: str,
                                   arguments: dict[str, Any], outcome: dict[str, Any],
                                   events: Sequence[Event] = ()) -> None:
        """Queue a finished entry (for calls that had no `started` one); on disk at the next flush."""
        self._raise_if_failed()
        now = _now()
        self._queue += [
            ("INSERT OR REPLACE INTO tool_journal (run_id, task, call_id, tool, arguments, status, outcome, "
             "started_at, finished_at) VALUES (?, ?, ?, ?, ?, 'finished', ?, ?, ?)",
             (run_id, task, call_id, tool, _dumps(arguments), _dumps(outcome), now, now)),
            *self._event_rows(events),
        ]
        self._queued += 1
        self._wakeup.set()
        if not self._running:
            await self.flush()

    async def load_journal(self, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        """All of a run's journal entries, keyed (task, call id)."""
        await self.flush()

        def run(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute("SELECT task, call_id, status, outcome FROM tool_journal WHERE run_id = ?",
                                (run_id,)).fetchall()

        async with self.lock:
            rows = await self.conn._execute(run, self.conn._conn)
        return {(task, call_id): {"status": status, "outcome": json.loads(outcome) if outcome else None}
                for task, call_id, status, outcome in rows}

    async def journal_finish(self, run_id: str, task: str, call_id: str, outcome: dict[str, Any],
                             events: Sequence[Event] = ()) -> None:
        await self._write_now([
            ("UPDATE tool_journal SET status = 'finished', outcome = ?, finished_at = ? WHERE run_id = ? AND "
             "task = ? AND call_id = ?", (_dumps(outcome), _now(), run_id, task, call_id)),
            *self._event_rows(events),
        ])

    async def append(self, events: Sequence[Event], usage: dict[str, Any], *, wait: bool = False) -> None:
        """Queue `events` (all of one run) and that run's usage so far; `wait=True` returns once on disk."""
        self._raise_if_failed()
        if not events:
            return
        self._queue += [
            *self._event_rows(events),
            ("UPDATE runs SET usage = ?, cost_usd = ?, wall_s = ? WHERE id = ?",
             (_dumps(usage), usage.get("cost_usd", 0.0), usage.get("wall_s", 0.0), events[0].run_id)),
        ]
        self._queued += 1
        self._wakeup.set()
        if wait or not self._running:
            await self.flush()

    async def _write_now(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        await self.flush()  # keep the trace in order: queued events first
        await self._transaction(statements)

    async def finish_run(self, run_id: str, *, status: str, output: Any, partial: Any, usage: dict[str, Any],
                         budget_exhausted: str | None, error: dict[str, str] | None,
                         pending: list[dict[str, Any]] | None = None, events: Sequence[Event] = ()) -> None:
        await self._write_now([
            *self._event_rows(events),
            ("UPDATE runs SET status = ?, output = ?, partial = ?, usage = ?, cost_usd = ?, budget_exhausted = ?,"
             " error = ?, finished_at = ?, wall_s = ?, pending = ?, owner = NULL WHERE id = ?",
             (status, _dumps(output), _dumps(partial), _dumps(usage), usage.get("cost_usd", 0.0),
              budget_exhausted, _dumps(error) if error else None, _now(), usage.get("wall_s", 0.0),
              _dumps(pending) if pending else None, run_id)),
        ])
