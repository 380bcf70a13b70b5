"""`PostgresStorage`: the storage protocol on a PostgreSQL database (several processes and machines at once).

    async with open_storage("postgresql://user@host/db", lease_ttl_s=30, pool_size=10) as storage: ...

Writes of runs go through the group-commit writer (`writer.py`: batched transactions, fenced by lease
tokens); claims, decisions, cancels and thread checks are transactions of their own that lock the run's row
(`FOR UPDATE`), and workers take queued runs with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never get
the same run. Lease expiry is decided by the database server's clock, never the clients'. Connection trouble is
retried (`connection.py`). Options: `lease_ttl_s`, `schema` (the PostgreSQL schema holding agentflow's tables,
default `agentflow`), `pool_size`, `pool_timeout`, `retry_s`, `lanes` (transactions in flight at once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio

from agentflow.approval import PendingCall
from agentflow.events import Event
from agentflow.exceptions import ConfigError, LeaseLostError, RunBusyError, UnknownRunError
from agentflow.status import RunStatus
from agentflow.store.base import (
    ACTIVE,
    Accept,
    Lease,
    NewRun,
    RunRecord,
    ThreadCheck,
    TraceEvent,
)
from agentflow.store.owner import lease_live
from agentflow.store.postgres.connection import Conn, Database, fetch as _fetch
from agentflow.store.postgres.retention import Retention
from agentflow.store.postgres.schema import migrate
from agentflow.store.postgres.writer import EventRow, GroupCommitWriter, Write
from agentflow.store.sqlite.rows import loads, record_from_row
from agentflow.store.url import DatabaseURL

__all__ = ["DEFAULT_LEASE_TTL_S", "PostgresStorage"]

DEFAULT_LEASE_TTL_S = 30.0
_FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.BUDGET_EXHAUSTED)
_NOW = "extract(epoch from clock_timestamp())::float8"
_INSERT_RUN = (
    "INSERT INTO runs (id, graph, input, status, usage, budget, model, settings, seed, parent_id, forked_from, "
    "created_at, started_at, owner, lease_token, lease_expires, context, thread_id, queued) VALUES "
    f"(%s, %s, %s, %s, '{{}}', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {_NOW} + %s, %s, %s, %s)"
)
_INSERT_EVENT = (
    "INSERT INTO events (run_id, seq, kind, step, agent, ts, data) VALUES "
    "(%s, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = %s), %s, %s, %s, %s, %s)"
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pending_json(pending: Sequence[PendingCall] | None) -> str | None:
    return dumps([p.to_json() for p in pending]) if pending else None


def event_rows(events: Sequence[Event]) -> list[EventRow]:
    ts = now_iso()
    rows: list[EventRow] = []
    for event in events:
        data = event.data()
        rows.append((event.kind, data.get("step"), event.agent, ts, dumps(data)))
    return rows


async def _insert_events(conn: Conn, run_id: str, rows: Sequence[EventRow]) -> None:
    for kind, step, agent, ts, data in rows:
        await conn.execute(_INSERT_EVENT, (run_id, run_id, kind, step, agent, ts, data))


def _insert_run_params(
    run: NewRun, status: RunStatus, owner: str | None, token: int, ttl: float | None
) -> tuple:
    now = now_iso()
    return (
        run.run_id,
        run.graph,
        dumps(run.input),
        status,
        dumps(run.budget),
        run.model,
        dumps(run.settings),
        run.seed,
        run.parent_id,
        run.forked_from,
        now,
        now if status is RunStatus.RUNNING else None,
        owner,
        token,
        ttl,
        dumps(dict(run.context)) if run.context else None,
        run.thread_id,
        status is RunStatus.QUEUED,
    )


@dataclass(slots=True)
class _Buffered:
    rows: list[EventRow] = field(default_factory=list)
    usage: dict[str, Any] | None = None


class PostgresStorage(Retention):
    """The storage protocol (`agentflow.store.Storage`) on PostgreSQL (module docstring)."""

    def __init__(
        self,
        url: DatabaseURL,
        *,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
        schema: str = "agentflow",
        pool_size: int = 10,
        pool_timeout: float = 30.0,
        retry_s: float = 30.0,
        lanes: int = 2,
        index: Any = None,
        store_ttl: Any = None,
    ) -> None:
        if index is not None or store_ttl is not None:
            raise ConfigError(
                f"{url}: the PostgreSQL backend's document store has full-text search only; vector and hybrid "
                "memory search (index=) and store TTLs (store_ttl=) need the SQLite backend for now"
            )
        self.url = url
        self.lease_ttl_s = lease_ttl_s
        self.schema = schema
        self.db = Database(
            url, schema=schema, pool_size=pool_size, pool_timeout=pool_timeout, retry_s=retry_s
        )
        self.writer = GroupCommitWriter(self.db, lanes=lanes)
        self.leases: dict[str, int] = {}
        self._buffered: dict[str, _Buffered] = {}
        self.fresh: dict[str, set[str]] = {}
        self._checkpointer: Any = None
        self._store: Any = None

    # ---------------------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> PostgresStorage:
        await self.db.open()
        try:
            await self.db.read(lambda conn: migrate(conn, self.schema, str(self.url)), what="migrating")
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.db.close()
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        with anyio.CancelScope(shield=True):
            await self.db.close()

    @property
    def checkpointer(self) -> Any:
        if self._checkpointer is None:
            from agentflow.store.postgres.checkpointer import PostgresCheckpointer

            self._checkpointer = PostgresCheckpointer(self)
        return self._checkpointer

    @property
    def store(self) -> Any:
        if self._store is None:
            from agentflow.store.postgres.documents import PostgresDocumentStore

            self._store = PostgresDocumentStore(self)
        return self._store

    # --------------------------------------------------------------------------------------------- runs

    async def create_run(
        self, run: NewRun, *, owner: str, events: Sequence[Event] = (), thread: ThreadCheck | None = None
    ) -> Lease:
        rows = event_rows(events)
        if thread is None:
            params = _insert_run_params(run, RunStatus.RUNNING, owner, 1, self.lease_ttl_s)
            await self.writer.write(Write([(_INSERT_RUN, params)], run_id=run.run_id, events=rows))
        else:
            run = await self._insert_in_thread(run, RunStatus.RUNNING, owner, rows, thread)
        self.leases[run.run_id] = 1
        self.fresh[run.run_id] = set()
        return Lease(run_id=run.run_id, owner=owner, token=1, expires_at=time.time() + self.lease_ttl_s)

    async def enqueue(
        self, run: NewRun, *, events: Sequence[Event] = (), thread: ThreadCheck | None = None
    ) -> RunRecord:
        rows = event_rows(events)
        if thread is None:
            params = _insert_run_params(run, RunStatus.QUEUED, None, 0, None)
            await self.writer.write(Write([(_INSERT_RUN, params)], run_id=run.run_id, events=rows))
        else:
            run = await self._insert_in_thread(run, RunStatus.QUEUED, None, rows, thread)
        return await self.get_run(run.run_id)

    async def _insert_in_thread(
        self, run: NewRun, status: RunStatus, owner: str | None, rows: list[EventRow], thread: ThreadCheck
    ) -> NewRun:
        thread_id = run.thread_id or run.run_id
        ttl = self.lease_ttl_s if status is RunStatus.RUNNING else None

        async def apply(conn: Conn) -> NewRun:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"agentflow-thread:{thread_id}",)
            )
            found = await _fetch(
                conn, "SELECT * FROM runs WHERE thread_id = %s ORDER BY created_at", (thread_id,)
            )
            new = thread([record_from_row(r) for r in found])
            token = 1 if status is RunStatus.RUNNING else 0
            await conn.execute(_INSERT_RUN, _insert_run_params(new, status, owner, token, ttl))
            await _insert_events(conn, new.run_id, rows)
            return new

        return await self.db.transact(apply)

    async def get_run(self, run_id: str) -> RunRecord:
        async def read(conn: Conn) -> list[dict[str, Any]]:
            rows = await _fetch(conn, "SELECT * FROM runs WHERE id = %s", (run_id,))
            if not rows:
                prefix = run_id.replace("%", "").replace("_", "") + "%"
                rows = await _fetch(
                    conn, "SELECT * FROM runs WHERE id LIKE %s ORDER BY created_at DESC LIMIT 2", (prefix,)
                )
            return rows

        rows = await self.db.read(read)
        if len(rows) != 1:
            raise UnknownRunError(f"no run '{run_id}' in {self.url}")
        return record_from_row(rows[0])

    async def list_runs(self, *, limit: int = 20, status: RunStatus | None = None) -> list[RunRecord]:
        where = "WHERE status = %s" if status is not None else ""
        query = f"SELECT * FROM runs {where} ORDER BY created_at DESC LIMIT %s"
        params: tuple[Any, ...] = (status, limit) if status is not None else (limit,)
        rows = await self.db.read(lambda conn: _fetch(conn, query, params))
        return [record_from_row(r) for r in rows]

    async def thread_runs(self, thread_id: str) -> list[RunRecord]:
        rows = await self.db.read(
            lambda conn: _fetch(
                conn, "SELECT * FROM runs WHERE thread_id = %s ORDER BY created_at", (thread_id,)
            )
        )
        return [record_from_row(r) for r in rows]

    async def claim(
        self,
        run_id: str,
        *,
        owner: str,
        accept: Accept,
        budget: Mapping[str, Any] | None = None,
        pending: Sequence[PendingCall] | None = None,
        events: Sequence[Event] = (),
    ) -> Lease:
        rows = event_rows(events)
        ttl = self.lease_ttl_s

        async def apply(conn: Conn) -> Lease:
            found = await _fetch(
                conn, f"SELECT *, {_NOW} AS now_s FROM runs WHERE id = %s FOR UPDATE", (run_id,)
            )
            if not found:
                raise UnknownRunError(f"no run '{run_id}' in {self.url}")
            record = record_from_row(found[0])
            now = found[0]["now_s"]
            if lease_live(record, now) and record.owner != owner:
                raise RunBusyError(
                    f"run {run_id} is being executed by another process ({record.owner}); wait "
                    "for it to finish or stop that process"
                )
            accept(record)
            token = record.lease_token + 1
            await conn.execute(
                "UPDATE runs SET status = %s, finished_at = NULL, owner = %s, lease_token = %s, "
                "lease_expires = %s, cancel_requested = FALSE, started_at = COALESCE(started_at, %s), "
                "budget = COALESCE(%s, budget), pending = COALESCE(%s, pending) WHERE id = %s",
                (
                    RunStatus.RUNNING,
                    owner,
                    token,
                    now + ttl,
                    now_iso(),
                    dumps(dict(budget)) if budget is not None else None,
                    _pending_json(pending) if pending is not None else None,
                    run_id,
                ),
            )
            await _insert_events(conn, run_id, rows)
            return Lease(run_id=run_id, owner=owner, token=token, expires_at=time.time() + ttl, record=record)

        lease = await self.db.transact(apply)
        self.leases[run_id] = lease.token
        return lease

    async def claim_next(self, *, owner: str, limit: int = 1) -> list[Lease]:
        ttl = self.lease_ttl_s
        query = f"""
            WITH picked AS (
                SELECT r.id, r.status AS old_status FROM runs r
                WHERE (r.status = 'queued' AND NOT EXISTS (
                        SELECT 1 FROM runs p WHERE r.thread_id IS NOT NULL AND p.thread_id = r.thread_id
                        AND p.created_at < r.created_at AND p.status IN ('queued', 'running', 'awaiting_approval')))
                   OR (r.status = 'running' AND r.queued AND r.lease_expires < {_NOW})
                ORDER BY r.created_at LIMIT %s FOR UPDATE OF r SKIP LOCKED)
            UPDATE runs SET status = 'running', owner = %s, lease_token = runs.lease_token + 1,
                lease_expires = {_NOW} + %s, started_at = COALESCE(runs.started_at, %s), finished_at = NULL,
                queued = TRUE
            FROM picked WHERE runs.id = picked.id
            RETURNING runs.*, picked.old_status"""

        async def apply(conn: Conn) -> list[dict[str, Any]]:
            return await _fetch(conn, query, (limit, owner, ttl, now_iso()))

        rows = await self.db.transact(apply)
        leases = []
        for row in sorted(rows, key=lambda r: r["created_at"]):
            record = record_from_row(
                {**row, "status": row["old_status"], "lease_token": row["lease_token"] - 1}
            )
            lease = Lease(
                run_id=record.id,
                owner=owner,
                token=row["lease_token"],
                expires_at=time.time() + ttl,
                record=record,
                cancel_requested=bool(row["cancel_requested"]),
            )
            self.leases[record.id] = lease.token
            leases.append(lease)
        return leases

    async def renew(self, lease: Lease) -> Lease:
        async def apply(conn: Conn) -> Any:
            cursor = await conn.execute(
                f"UPDATE runs SET lease_expires = {_NOW} + %s WHERE id = %s AND lease_token = %s "
                "RETURNING cancel_requested",
                (self.lease_ttl_s, lease.run_id, lease.token),
            )
            return await cursor.fetchone()

        row = await self.db.read(apply, what="renewing a lease")
        if row is None:
            raise LeaseLostError(
                f"run {lease.run_id}: this process no longer holds its lease (another process took the run "
                "over); nothing more is written"
            )
        return Lease(
            run_id=lease.run_id,
            owner=lease.owner,
            token=lease.token,
            expires_at=time.time() + self.lease_ttl_s,
            record=lease.record,
            cancel_requested=bool(row[0]),
        )

    async def finish_run(
        self,
        lease: Lease,
        *,
        status: RunStatus,
        output: Any,
        partial: Any,
        usage: Mapping[str, Any],
        budget_exhausted: str | None,
        error: Mapping[str, str] | None,
        pending: Sequence[PendingCall] = (),
        events: Sequence[Event] = (),
    ) -> None:
        statement = (
            "UPDATE runs SET status = %s, output = %s, partial = %s, usage = %s, cost_usd = %s, "
            "budget_exhausted = %s, error = %s, finished_at = %s, wall_s = %s, pending = %s, owner = NULL, "
            "lease_expires = NULL, cancel_requested = FALSE WHERE id = %s",
            (
                status,
                dumps(output),
                dumps(partial),
                dumps(dict(usage)),
                usage.get("cost_usd", 0.0),
                budget_exhausted,
                dumps(dict(error)) if error else None,
                now_iso(),
                usage.get("wall_s", 0.0),
                _pending_json(pending),
                lease.run_id,
            ),
        )
        try:
            await self.run_write(lease.run_id, [statement], token=lease.token, events=event_rows(events))
        finally:
            self._buffered.pop(lease.run_id, None)
            self.fresh.pop(lease.run_id, None)
            if self.leases.get(lease.run_id) == lease.token:
                del self.leases[lease.run_id]

    async def update_pending(
        self,
        run_id: str,
        expected: Sequence[PendingCall],
        pending: Sequence[PendingCall],
        events: Sequence[Event] = (),
    ) -> None:
        rows = event_rows(events)
        expected_json = [p.to_json() for p in expected]

        async def apply(conn: Conn) -> None:
            found = await _fetch(conn, "SELECT status, pending FROM runs WHERE id = %s FOR UPDATE", (run_id,))
            if (
                not found
                or found[0]["status"] != RunStatus.AWAITING_APPROVAL
                or loads(found[0]["pending"]) != expected_json
            ):
                state = "gone" if not found else found[0]["status"]
                raise RunBusyError(
                    f"run {run_id} changed while deciding (it is {state} now: another process "
                    "decided or resumed it); look at `agentflow pending` again"
                )
            await conn.execute("UPDATE runs SET pending = %s WHERE id = %s", (_pending_json(pending), run_id))
            await _insert_events(conn, run_id, rows)

        await self.db.transact(apply)

    async def request_cancel(self, run_id: str, events: Sequence[Event] = ()) -> RunRecord:
        rows = event_rows(events)

        async def apply(conn: Conn) -> None:
            found = await _fetch(conn, "SELECT id, status FROM runs WHERE id = %s FOR UPDATE", (run_id,))
            if not found:
                raise UnknownRunError(f"no run '{run_id}' in {self.url}")
            status = found[0]["status"]
            if status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
                await conn.execute(
                    "UPDATE runs SET status = %s, finished_at = %s, pending = NULL WHERE id = %s",
                    (RunStatus.CANCELLED, now_iso(), run_id),
                )
                await _insert_events(conn, run_id, rows)
            elif status == RunStatus.RUNNING:
                await conn.execute("UPDATE runs SET cancel_requested = TRUE WHERE id = %s", (run_id,))

        await self.db.transact(apply)
        return await self.get_run(run_id)

    # -------------------------------------------------------------------------------------------- trace

    def record(self, lease: Lease, events: Sequence[Event], usage: Mapping[str, Any] | None = None) -> None:
        buffered = self._buffered.setdefault(lease.run_id, _Buffered())
        buffered.rows += event_rows(events)
        if usage is not None:
            buffered.usage = dict(usage)

    async def flush(self, lease: Lease | None = None) -> None:
        if lease is None:
            for run_id in list(self._buffered):
                await self.run_write(run_id, [], token=self.leases.get(run_id))
            await self.writer.flush()
        else:
            await self.run_write(lease.run_id, [], token=lease.token)

    async def run_write(
        self,
        run_id: str,
        statements: list[tuple[str, Sequence[Any]]],
        *,
        token: int | None,
        usage: Mapping[str, Any] | None = None,
        events: list[EventRow] | None = None,
    ) -> None:
        """A write of a run: its queued events go with it (in order, then `events`), and its latest usage;
        fenced by `token`."""
        buffered = self._buffered.pop(run_id, None)
        rows = [*(buffered.rows if buffered else []), *(events or [])]
        latest = dict(usage) if usage else (buffered.usage if buffered else None)
        await self.writer.write(
            Write(list(statements), run_id=run_id, token=token, events=rows, usage=latest)
        )

    async def events(self, run_id: str, *, after: int = 0) -> list[TraceEvent]:
        rows = await self.db.read(
            lambda conn: _fetch(
                conn, "SELECT * FROM events WHERE run_id = %s AND seq > %s ORDER BY seq", (run_id, after)
            )
        )
        return [TraceEvent.from_row(r) for r in rows]

    # ------------------------------------------------------------------------------------------ journal

    async def journal_start(
        self,
        lease: Lease,
        task: str,
        call_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        statement = (
            "INSERT INTO tool_journal (run_id, task, call_id, tool, arguments, status, started_at) "
            "VALUES (%s, %s, %s, %s, %s, 'started', %s) ON CONFLICT (run_id, task, call_id) DO UPDATE SET "
            "tool = excluded.tool, arguments = excluded.arguments, status = 'started', outcome = NULL, "
            "started_at = excluded.started_at, finished_at = NULL",
            (lease.run_id, task, call_id, tool, dumps(dict(arguments)), now_iso()),
        )
        await self.run_write(lease.run_id, [statement], token=lease.token, usage=usage)

    async def journal_finish(
        self,
        lease: Lease,
        task: str,
        call_id: str,
        outcome: Mapping[str, Any],
        events: Sequence[Event] = (),
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        statement = (
            "UPDATE tool_journal SET status = 'finished', outcome = %s, finished_at = %s WHERE run_id = %s "
            "AND task = %s AND call_id = %s",
            (dumps(dict(outcome)), now_iso(), lease.run_id, task, call_id),
        )
        await self.run_write(
            lease.run_id, [statement], token=lease.token, usage=usage, events=event_rows(events)
        )

    async def journal(self, run_id: str) -> list[dict[str, Any]]:
        rows = await self.db.read(
            lambda conn: _fetch(
                conn, "SELECT * FROM tool_journal WHERE run_id = %s ORDER BY started_at", (run_id,)
            )
        )
        for row in rows:
            row["arguments"] = loads(row["arguments"])
            row["outcome"] = loads(row["outcome"])
        return rows


assert set(ACTIVE) == {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL}
