"""`SqliteStorage`: the storage protocol on one SQLite file (the embedded default).

Writes go through the group-commit writer (`writer.py`); reads run on worker threads, each with its own
read connection (WAL: readers never wait for the writer). The file is checked before anything opens it for
writing (`schema.check_file`): a foreign, corrupt or truncated file is refused untouched.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from agentflow.approval import PendingCall
from agentflow.events import Event
from agentflow.exceptions import RunBusyError, StoreError, UnknownRunError
from agentflow.status import RunStatus
from agentflow.store.base import Accept, Lease, NewRun, RunRecord, ThreadCheck, TraceEvent
from agentflow.store.owner import lease_live
from agentflow.store.sqlite.readers import Readers, fetch_dicts
from agentflow.store.sqlite.retention import Retention
from agentflow.store.sqlite.rows import loads as _loads, record_from_row
from agentflow.store.sqlite.schema import check_file, set_up
from agentflow.store.sqlite.writer import GroupCommitWriter
from agentflow.store.url import DatabaseURL

__all__ = ["DEFAULT_LEASE_TTL_S", "SqliteStorage"]

T = TypeVar("T")

DEFAULT_LEASE_TTL_S = 30.0
_INSERT_EVENT = (
    "INSERT INTO events (run_id, seq, kind, step, agent, ts, data) VALUES "
    "(?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?), ?, ?, ?, ?, ?)"
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pending_json(pending: Sequence[PendingCall] | None) -> str | None:
    return dumps([p.to_json() for p in pending]) if pending else None


def event_rows(events: Sequence[Event]) -> list[tuple[str, tuple[Any, ...]]]:
    """Insert statements for `events`; the row's `ts` is the event's own (when what it reports began)."""
    rows = []
    for event in events:
        data = event.data()
        ts = data.get("ts") or now_iso()
        rows.append(
            (
                _INSERT_EVENT,
                (event.run_id, event.run_id, event.kind, data.get("step"), event.agent, ts, dumps(data)),
            )
        )
    return rows


@dataclass(slots=True)
class _Buffered:
    """A run's trace rows (and latest usage) waiting for the run's next write."""

    rows: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    usage: dict[str, Any] | None = None


class SqliteStorage(Retention):
    """The storage protocol (`agentflow.store.Storage`) on a SQLite file."""

    def __init__(
        self,
        url: DatabaseURL,
        *,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
        synchronous: str = "NORMAL",
        index: Mapping[str, Any] | None = None,
        store_ttl: Mapping[str, Any] | None = None,
    ) -> None:
        """`index` (LangGraph's {"dims", "embed", "fields"}) gives the document store vector search;
        `store_ttl` is its TTL config ({"default_ttl": minutes, "refresh_on_read": bool})."""
        if url.path is None:
            raise StoreError(f"{url} is not a SQLite file")
        self.url = url
        self.path = url.path
        self.lease_ttl_s = lease_ttl_s
        self.writer = GroupCommitWriter(self.path, synchronous=synchronous)
        self.readers = Readers(self.path)
        # run id -> the lease token this process holds (the checkpointer fences with it)
        self.leases: dict[str, int] = {}
        # run id -> events queued, committed with the run's next write
        self._buffered: dict[str, _Buffered] = {}
        # runs this process created and still executes -> the checkpoint namespaces written since: a read of
        # any other namespace of such a run has nothing to find (LangGraph asks at every start)
        self.fresh: dict[str, set[str]] = {}
        self._checkpointer: Any = None
        self._store: Any = None
        self._store_options: dict[str, Any] = {"index": index, "ttl": store_ttl}

    # ---------------------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> SqliteStorage:
        await anyio.to_thread.run_sync(self._open)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.close)

    def _open(self) -> None:
        existed = check_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {self.path}: {exc.strerror}") from None
        sidecars = [self.path.with_name(self.path.name + s) for s in ("-wal", "-shm")]
        had = [p.exists() for p in sidecars]

        try:
            self.writer.start(lambda conn: set_up(conn, self.path, mark=not existed))
        except sqlite3.DatabaseError as exc:
            for sidecar, existed_before in zip(sidecars, had, strict=True):
                if not existed_before:
                    sidecar.unlink(missing_ok=True)
            raise StoreError(
                f"{self.path} is not a usable SQLite database ({exc}); it may be corrupt or truncated"
            ) from None

    def close(self) -> None:
        if self._store is not None:  # its background embedder writes through the writer: it goes first
            self._store.close()
        self.writer.close()
        self.readers.close()

    @property
    def checkpointer(self) -> Any:
        if self._checkpointer is None:
            from agentflow.store.sqlite.checkpointer import SqliteCheckpointer

            self._checkpointer = SqliteCheckpointer(self)
        return self._checkpointer

    @property
    def store(self) -> Any:
        if self._store is None:
            from agentflow.store.sqlite.documents import SqliteDocumentStore

            self._store = SqliteDocumentStore(self, **self._store_options)
        return self._store

    # --------------------------------------------------------------------------------------------- runs

    def _insert_run(
        self, run: NewRun, status: RunStatus, owner: str | None, token: int, expires: float | None
    ):
        now = now_iso()
        return (
            "INSERT INTO runs (id, graph, input, status, usage, budget, model, settings, seed, parent_id, "
            "forked_from, created_at, started_at, owner, lease_token, lease_expires, context, thread_id, queued) "
            "VALUES (?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
                expires,
                dumps(dict(run.context)) if run.context else None,
                run.thread_id,
                int(status is RunStatus.QUEUED),
            ),
        )

    async def _insert(
        self,
        run: NewRun,
        status: RunStatus,
        owner: str | None,
        token: int,
        expires: float | None,
        events: Sequence[Event],
        thread: ThreadCheck | None,
    ) -> NewRun:
        rows = event_rows(events)

        def apply(conn: sqlite3.Connection) -> NewRun:
            new = run
            if thread is not None:
                found = fetch_dicts(
                    conn, "SELECT * FROM runs WHERE thread_id = ? ORDER BY created_at", (run.thread_id,)
                )
                new = thread([record_from_row(r) for r in found])
            conn.execute(*self._insert_run(new, status, owner, token, expires))
            for sql, params in rows:
                conn.execute(sql, (new.run_id, new.run_id, *params[2:]))
            return new

        inserted: NewRun = await self.writer.write(apply)
        return inserted

    async def create_run(
        self, run: NewRun, *, owner: str, events: Sequence[Event] = (), thread: ThreadCheck | None = None
    ) -> Lease:
        expires = time.time() + self.lease_ttl_s
        run = await self._insert(run, RunStatus.RUNNING, owner, 1, expires, events, thread)
        self.leases[run.run_id] = 1
        self.fresh[run.run_id] = set()
        return Lease(run_id=run.run_id, owner=owner, token=1, expires_at=expires)

    async def enqueue(
        self, run: NewRun, *, events: Sequence[Event] = (), thread: ThreadCheck | None = None
    ) -> RunRecord:
        run = await self._insert(run, RunStatus.QUEUED, None, 0, None, events, thread)
        return await self.get_run(run.run_id)

    async def thread_runs(self, thread_id: str) -> list[RunRecord]:
        rows = await self.readers.run(
            lambda conn: fetch_dicts(
                conn, "SELECT * FROM runs WHERE thread_id = ? ORDER BY created_at", (thread_id,)
            )
        )
        return [record_from_row(r) for r in rows]

    async def claim_next(self, *, owner: str, limit: int = 1) -> list[Lease]:
        ttl = self.lease_ttl_s
        query = (
            "SELECT * FROM runs r WHERE (r.status = 'queued' AND NOT EXISTS (SELECT 1 FROM runs p WHERE "
            "r.thread_id IS NOT NULL AND p.thread_id = r.thread_id AND p.created_at < r.created_at AND "
            "p.status IN ('queued', 'running', 'awaiting_approval'))) OR (r.status = 'running' AND r.queued = 1 "
            "AND r.lease_expires < ?) ORDER BY r.created_at LIMIT ?"
        )

        def apply(conn: sqlite3.Connection) -> list[Lease]:
            now = time.time()
            leases = []
            for row in fetch_dicts(conn, query, (now, limit)):
                record = record_from_row(row)
                token = record.lease_token + 1
                conn.execute(
                    "UPDATE runs SET status = 'running', owner = ?, lease_token = ?, lease_expires = ?, "
                    "started_at = COALESCE(started_at, ?), finished_at = NULL, queued = 1 WHERE id = ?",
                    (owner, token, now + ttl, now_iso(), record.id),
                )
                leases.append(
                    Lease(
                        run_id=record.id,
                        owner=owner,
                        token=token,
                        expires_at=now + ttl,
                        record=record,
                        cancel_requested=record.cancel_requested,
                    )
                )
            return leases

        leases: list[Lease] = await self.writer.write(apply)
        for lease in leases:
            self.leases[lease.run_id] = lease.token
        return leases

    async def request_cancel(self, run_id: str, events: Sequence[Event] = ()) -> RunRecord:
        rows = event_rows(events)

        def apply(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise UnknownRunError(f"no run '{run_id}' in {self.path}")
            if row[0] in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
                conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, pending = NULL WHERE id = ?",
                    (RunStatus.CANCELLED, now_iso(), run_id),
                )
                for sql, params in rows:
                    conn.execute(sql, params)
            elif row[0] == RunStatus.RUNNING:
                conn.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))

        await self.writer.write(apply)
        return await self.get_run(run_id)

    async def get_run(self, run_id: str) -> RunRecord:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = fetch_dicts(conn, "SELECT * FROM runs WHERE id = ?", (run_id,))
            if not rows:
                prefix = run_id.replace("%", "").replace("_", "") + "%"
                rows = fetch_dicts(
                    conn, "SELECT * FROM runs WHERE id LIKE ? ORDER BY created_at DESC LIMIT 2", (prefix,)
                )
            return rows

        rows = await self.readers.run(read)
        if len(rows) != 1:
            raise UnknownRunError(f"no run '{run_id}' in {self.path}")
        return record_from_row(rows[0])

    async def list_runs(self, *, limit: int = 20, status: RunStatus | None = None) -> list[RunRecord]:
        where = "WHERE status = ?" if status is not None else ""
        sql = f"SELECT * FROM runs {where} ORDER BY created_at DESC LIMIT ?"
        params: tuple[Any, ...] = (status, limit) if status is not None else (limit,)
        rows = await self.readers.run(lambda conn: fetch_dicts(conn, sql, params))
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

        def apply(conn: sqlite3.Connection) -> Lease:
            found = fetch_dicts(conn, "SELECT * FROM runs WHERE id = ?", (run_id,))
            if not found:
                raise UnknownRunError(f"no run '{run_id}' in {self.path}")
            record = record_from_row(found[0])
            now = time.time()
            if lease_live(record, now) and record.owner != owner:
                raise RunBusyError(
                    f"run {run_id} is being executed by another process ({record.owner}); wait "
                    "for it to finish or stop that process"
                )
            accept(record)
            token = record.lease_token + 1
            expires = now + ttl
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = NULL, owner = ?, lease_token = ?, lease_expires = ?, "
                "cancel_requested = 0, started_at = COALESCE(started_at, ?), "
                "budget = COALESCE(?, budget), pending = COALESCE(?, pending) WHERE id = ?",
                (
                    RunStatus.RUNNING,
                    owner,
                    token,
                    expires,
                    now_iso(),
                    dumps(dict(budget)) if budget is not None else None,
                    _pending_json(pending) if pending is not None else None,
                    run_id,
                ),
            )
            for sql, params in rows:
                conn.execute(sql, params)
            return Lease(run_id=run_id, owner=owner, token=token, expires_at=expires, record=record)

        lease: Lease = await self.writer.write(apply)
        self.leases[run_id] = lease.token
        return lease

    async def renew(self, lease: Lease) -> Lease:
        expires = time.time() + self.lease_ttl_s

        def apply(conn: sqlite3.Connection) -> bool:
            conn.execute("UPDATE runs SET lease_expires = ? WHERE id = ?", (expires, lease.run_id))
            row = conn.execute("SELECT cancel_requested FROM runs WHERE id = ?", (lease.run_id,)).fetchone()
            return bool(row and row[0])

        cancel: bool = await self.run_write(lease.run_id, apply, token=lease.token)
        return Lease(
            run_id=lease.run_id,
            owner=lease.owner,
            token=lease.token,
            expires_at=expires,
            record=lease.record,
            cancel_requested=cancel,
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
        statements = [
            *event_rows(events),
            (
                "UPDATE runs SET status = ?, output = ?, partial = ?, usage = ?, cost_usd = ?, budget_exhausted = ?, "
                "error = ?, finished_at = ?, wall_s = ?, pending = ?, owner = NULL, lease_expires = NULL, "
                "cancel_requested = 0 WHERE id = ?",
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
            ),
        ]

        def apply(conn: sqlite3.Connection) -> None:
            for sql, params in statements:
                conn.execute(sql, params)

        try:
            await self.run_write(lease.run_id, apply, token=lease.token)
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

        def apply(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status, pending FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row[0] != RunStatus.AWAITING_APPROVAL or _loads(row[1]) != expected_json:
                state = "gone" if row is None else row[0]
                raise RunBusyError(
                    f"run {run_id} changed while deciding (it is {state} now: another process "
                    "decided or resumed it); look at `agentflow pending` again"
                )
            conn.execute("UPDATE runs SET pending = ? WHERE id = ?", (_pending_json(pending), run_id))
            for sql, params in rows:
                conn.execute(sql, params)

        await self.writer.write(apply, run_id=run_id)

    # -------------------------------------------------------------------------------------------- trace

    def record(self, lease: Lease, events: Sequence[Event], usage: Mapping[str, Any] | None = None) -> None:
        buffered = self._buffered.setdefault(lease.run_id, _Buffered())
        buffered.rows += event_rows(events)
        if usage is not None:
            buffered.usage = dict(usage)

    async def flush(self, lease: Lease | None = None) -> None:
        if lease is None:
            for run_id in list(self._buffered):
                await self.run_write(run_id, lambda conn: None, token=self.leases.get(run_id))
            await self.writer.flush()
        else:
            await self.run_write(lease.run_id, lambda conn: None, token=lease.token)

    async def run_write(
        self,
        run_id: str,
        apply: Callable[[sqlite3.Connection], T],
        *,
        token: int | None,
        usage: Mapping[str, Any] | None = None,
    ) -> T:
        """A write of a run: its queued events go first, in the same request (so they are durable with it and
        in order), and its latest usage with it; fenced by `token`."""
        buffered = self._buffered.pop(run_id, None)
        if buffered is None or not buffered.rows:
            return await self.writer.write(
                apply,
                run_id=run_id,
                token=token,
                usage=dict(usage) if usage else (buffered.usage if buffered else None),
            )
        rows = buffered.rows

        def with_events(conn: sqlite3.Connection) -> T:
            for sql, params in rows:
                conn.execute(sql, params)
            return apply(conn)

        return await self.writer.write(
            with_events, run_id=run_id, token=token, usage=dict(usage) if usage else buffered.usage
        )

    async def events(self, run_id: str, *, after: int = 0) -> list[TraceEvent]:
        rows = await self.readers.run(
            lambda conn: fetch_dicts(
                conn, "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after)
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
        params = (lease.run_id, task, call_id, tool, dumps(dict(arguments)), now_iso())

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO tool_journal (run_id, task, call_id, tool, arguments, status, "
                "started_at) VALUES (?, ?, ?, ?, ?, 'started', ?)",
                params,
            )

        await self.run_write(lease.run_id, apply, token=lease.token, usage=usage)

    async def journal_finish(
        self,
        lease: Lease,
        task: str,
        call_id: str,
        outcome: Mapping[str, Any],
        events: Sequence[Event] = (),
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        statements = [
            (
                "UPDATE tool_journal SET status = 'finished', outcome = ?, finished_at = ? WHERE run_id = ? AND "
                "task = ? AND call_id = ?",
                (dumps(dict(outcome)), now_iso(), lease.run_id, task, call_id),
            ),
            *event_rows(events),
        ]

        def apply(conn: sqlite3.Connection) -> None:
            for sql, params in statements:
                conn.execute(sql, params)

        await self.run_write(lease.run_id, apply, token=lease.token, usage=usage)

    async def journal(self, run_id: str) -> list[dict[str, Any]]:
        rows = await self.readers.run(
            lambda conn: fetch_dicts(
                conn, "SELECT * FROM tool_journal WHERE run_id = ? ORDER BY started_at", (run_id,)
            )
        )
        for row in rows:
            row["arguments"] = _loads(row["arguments"])
            row["outcome"] = _loads(row["outcome"])
        return rows
