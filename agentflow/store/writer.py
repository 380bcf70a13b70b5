"""`TraceWriter`: the runner's writes to the run database (run records and trace events), async.

It shares LangGraph's checkpointer connection and lock, so trace writes and checkpoint writes never contend
for SQLite's write lock. Trace events are queued and committed with the next checkpoint write
(`store/checkpointer.py` takes them along into its transaction), so a run does not wait for the disk at every
event; `flush()` waits until everything queued so far is on disk, and run records (create / finish) and
journal rows are always written before returning.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agentflow.approval import PendingCall
from agentflow.events import Event, ModelCalled, ToolCalled
from agentflow.exceptions import RunBusyError, UnknownRunError
from agentflow.status import RunStatus
from agentflow.store.owner import owner_alive, process_owner

__all__ = ["TraceWriter", "run_in_transaction"]

_INSERT_EVENT = (
    "INSERT INTO events (run_id, seq, kind, step, agent, ts, data) VALUES "
    "(?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?), ?, ?, ?, ?, ?)"
)


def begin(conn: sqlite3.Connection) -> None:
    """Open a write transaction taking SQLite's write lock up front (`BEGIN IMMEDIATE`), so a transaction never
    starts as a reader and upgrades (the case busy timeouts cannot save). Statements queued for the next
    checkpoint may already have opened one on this connection: then this joins it, and commits it too."""
    if not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE")


def run_in_transaction(
    conn: sqlite3.Connection, statements: Sequence[tuple[str, tuple[Any, ...]]], *, commit: bool = True
) -> None:
    """Execute `statements` in one transaction (see `begin`); `commit=False` leaves it open for the caller."""
    begin(conn)
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        if commit:
            conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pending_json(pending: Sequence[PendingCall] | None) -> str | None:
    return _dumps([p.to_json() for p in pending]) if pending else None


class TraceWriter:
    """Writes through an `aiosqlite` connection, holding `lock` for each transaction.

    Trace events are queued; `TracingSaver` commits the queue in the same transaction as LangGraph's next
    checkpoint write, so the trace costs no transactions of its own and is on disk with the step it belongs
    to. `flush()` writes the queue now (before a side effect, or when a run ends).
    """

    def __init__(self, conn: Any, lock: Any) -> None:
        self.conn = conn
        self.lock = lock
        self._queue: list[tuple[str, tuple[Any, ...]]] = []

    def take(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The queued statements, removed from the queue (the checkpointer executes them in its transaction)."""
        statements, self._queue = self._queue, []
        return statements

    async def flush(self) -> None:
        """Return once everything queued so far is on disk (rows the checkpointer took along included)."""
        statements = self.take()
        if statements or self.conn._conn.in_transaction:
            await self._transaction(statements)

    async def _transaction(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        async with self.lock:
            # one hop to aiosqlite's thread for the whole transaction, not one per statement
            await self.conn._execute(run_in_transaction, self.conn._conn, statements)

    @staticmethod
    def _event_rows(events: Sequence[Event]) -> list[tuple[str, tuple[Any, ...]]]:
        rows = []
        for event in events:
            data = event.data()
            rows.append(
                (
                    _INSERT_EVENT,
                    (
                        event.run_id,
                        event.run_id,
                        event.kind,
                        data.get("step"),
                        event.agent,
                        _now(),
                        _dumps(data),
                    ),
                )
            )
        return rows

    async def create_run(
        self,
        *,
        run_id: str,
        graph: str,
        input: Any,
        model: str | None,
        settings: dict[str, Any],
        seed: int | None,
        budget: dict[str, Any],
        parent_id: str | None = None,
        forked_from: str | None = None,
        usage: dict[str, Any] | None = None,
        events: Sequence[Event] = (),
    ) -> None:
        now = _now()
        await self._write_now(
            [
                (
                    "INSERT INTO runs (id, graph, input, status, usage, budget, model, settings, seed, parent_id, "
                    "forked_from, created_at, started_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        graph,
                        _dumps(input),
                        RunStatus.RUNNING,
                        _dumps(usage or {}),
                        _dumps(budget),
                        model,
                        _dumps(settings),
                        seed,
                        parent_id,
                        forked_from,
                        now,
                        now,
                        process_owner(),
                    ),
                ),
                *self._event_rows(events),
            ]
        )

    async def claim(
        self,
        run_id: str,
        *,
        budget: dict[str, Any],
        events: Sequence[Event] = (),
        pending: Sequence[PendingCall] | None = None,
    ) -> str:
        """Make this process the run's executor; return the run's previous status.

        Raises `RunBusyError` if another live process is executing it.
        """
        await self.flush()

        def run(conn: sqlite3.Connection) -> str:
            begin(conn)
            try:
                row = conn.execute("SELECT status, owner FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    raise UnknownRunError(f"no run '{run_id}'")
                status, owner = row
                if status == RunStatus.RUNNING and owner != process_owner() and owner_alive(owner):
                    raise RunBusyError(
                        f"run {run_id} is being executed by another process ({owner}); "
                        "wait for it to finish or stop that process"
                    )
                conn.execute(
                    "UPDATE runs SET status = ?, finished_at = NULL, budget = ?, owner = ?, "
                    "pending = ? WHERE id = ?",
                    (RunStatus.RUNNING, _dumps(budget), process_owner(), _pending_json(pending), run_id),
                )
                for sql, params in self._event_rows(events):
                    conn.execute(sql, params)
                conn.execute("COMMIT")
                return status
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        async with self.lock:
            return await self.conn._execute(run, self.conn._conn)

    async def update_pending(
        self,
        run_id: str,
        expected: Sequence[PendingCall],
        pending: Sequence[PendingCall],
        events: Sequence[Event] = (),
    ) -> None:
        """Store decisions on a paused run's calls (and their trace events), unless another process changed them
        meanwhile."""
        await self.flush()
        rows = self._event_rows(events)

        def run(conn: sqlite3.Connection) -> None:
            begin(conn)
            try:
                row = conn.execute("SELECT status, pending FROM runs WHERE id = ?", (run_id,)).fetchone()
                stored = json.loads(row[1] or "null") if row is not None else None
                if (
                    row is None
                    or row[0] != RunStatus.AWAITING_APPROVAL
                    or stored != [p.to_json() for p in expected]
                ):
                    raise RunBusyError(
                        f"run {run_id} changed while deciding (another process decided or "
                        "resumed it); look at `agentflow pending` again"
                    )
                conn.execute("UPDATE runs SET pending = ? WHERE id = ?", (_pending_json(pending), run_id))
                for statement, params in rows:
                    conn.execute(statement, params)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        async with self.lock:
            await self.conn._execute(run, self.conn._conn)

    # -- the tool journal --------------------------------------------------------------------------------------
    async def journal_start(
        self, run_id: str, task: str, call_id: str, tool: str, arguments: dict[str, Any]
    ) -> None:
        """On disk before the tool runs, so a crash mid-call is detectable."""
        await self._write_now(
            [
                (
                    "INSERT OR REPLACE INTO tool_journal (run_id, task, call_id, tool, arguments, status, started_at) "
                    "VALUES (?, ?, ?, ?, ?, 'started', ?)",
                    (run_id, task, call_id, tool, _dumps(arguments), _now()),
                )
            ]
        )

    async def load_journal(self, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        """All of a run's journal entries, keyed (task, call id)."""
        await self.flush()

        def run(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            journal = conn.execute(
                "SELECT task, call_id, status, outcome FROM tool_journal WHERE run_id = ?", (run_id,)
            ).fetchall()
            events = conn.execute(
                "SELECT kind, data FROM events WHERE run_id = ? AND kind IN (?, ?) ORDER BY seq",
                (run_id, ModelCalled.kind, ToolCalled.kind),
            ).fetchall()
            return journal, events

        async with self.lock:
            journal, events = await self.conn._execute(run, self.conn._conn)
        entries: dict[tuple[str, str], dict[str, Any]] = {}
        for kind, text in events:  # decisions and idempotent calls: the trace is their record
            data = json.loads(text)
            if kind == ModelCalled.kind and data.get("task"):
                entries[(data["task"], "decision")] = {
                    "status": "finished",
                    "outcome": {"decision": data["decision"], "raw": data["raw_text"]},
                }
            elif kind == ToolCalled.kind and data.get("decision"):
                entries[(data["decision"], data["call_id"])] = {
                    "status": "finished",
                    "outcome": {
                        k: data.get(k)
                        for k in ("content", "is_error", "error_type", "result", "attempts", "latency_s")
                    },
                }
        for (
            task,
            call_id,
            status,
            outcome,
        ) in journal:  # non-idempotent calls: explicit started / finished rows
            entries[(task, call_id)] = {"status": status, "outcome": json.loads(outcome) if outcome else None}
        return entries

    async def journal_finish(
        self, run_id: str, task: str, call_id: str, outcome: dict[str, Any], events: Sequence[Event] = ()
    ) -> None:
        await self._write_now(
            [
                (
                    "UPDATE tool_journal SET status = 'finished', outcome = ?, finished_at = ? WHERE run_id = ? AND "
                    "task = ? AND call_id = ?",
                    (_dumps(outcome), _now(), run_id, task, call_id),
                ),
                *self._event_rows(events),
            ]
        )

    async def append(self, events: Sequence[Event], usage: dict[str, Any], *, wait: bool = False) -> None:
        """Queue `events` (all of one run) and that run's usage so far; `wait=True` returns once on disk."""
        if not events:
            return
        self._queue += [
            *self._event_rows(events),
            (
                "UPDATE runs SET usage = ?, cost_usd = ?, wall_s = ? WHERE id = ?",
                (_dumps(usage), usage.get("cost_usd", 0.0), usage.get("wall_s", 0.0), events[0].run_id),
            ),
        ]
        if wait:
            await self.flush()

    async def _write_now(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        await self._transaction([*self.take(), *statements])  # queued events first: the trace stays in order

    async def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        output: Any,
        partial: Any,
        usage: dict[str, Any],
        budget_exhausted: str | None,
        error: dict[str, str] | None,
        pending: Sequence[PendingCall] | None = None,
        events: Sequence[Event] = (),
    ) -> None:
        await self._write_now(
            [
                *self._event_rows(events),
                (
                    "UPDATE runs SET status = ?, output = ?, partial = ?, usage = ?, cost_usd = ?, budget_exhausted = ?,"
                    " error = ?, finished_at = ?, wall_s = ?, pending = ?, owner = NULL WHERE id = ?",
                    (
                        status,
                        _dumps(output),
                        _dumps(partial),
                        _dumps(usage),
                        usage.get("cost_usd", 0.0),
                        budget_exhausted,
                        _dumps(error) if error else None,
                        _now(),
                        usage.get("wall_s", 0.0),
                        _pending_json(pending),
                        run_id,
                    ),
                ),
            ]
        )
