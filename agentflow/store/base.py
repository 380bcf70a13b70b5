"""The storage protocol: everything a run persists, behind one small async interface.

    async with open_storage("runs.db") as storage:          # or "sqlite:///runs.db", "postgresql://..."
        lease = await storage.create_run(NewRun(...), owner=me)
        storage.record(lease, [event], usage)               # queued: committed with the next write
        await storage.journal_start(lease, task, call)      # durable before the tool runs
        await storage.finish_run(lease, ...)

A backend provides run records, trace events, the tool journal, run ownership as a *lease* (an owner, an expiry
the owner keeps renewing, and a fencing token every write of the run carries: a process that lost the lease
can write nothing more), LangGraph checkpoints (`checkpointer`), a document store (`store`, LangGraph's
`BaseStore`: tool data and memory) and retention (`prune`, `compact`). Graph semantics — which events make a
journal, when a run may be resumed — live in the runner, not in backends. tests/store/conformance.py holds
the suite every backend passes; a new backend adds one fixture.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from agentflow.approval import PendingCall
from agentflow.events import Event
from agentflow.status import RunStatus
from agentflow.store.url import DatabaseURL

__all__ = [
    "ACTIVE",
    "Accept",
    "Lease",
    "NewRun",
    "PruneReport",
    "RunRecord",
    "Storage",
    "ThreadCheck",
    "TraceEvent",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A run as stored: what it was asked, how it ended (or stands), who executes it now."""

    id: str
    graph: str
    input: Any
    status: RunStatus
    output: Any
    partial: Any
    usage: dict[str, Any]
    cost_usd: float
    budget: dict[str, Any]
    budget_exhausted: str | None
    error: dict[str, str] | None
    model: str | None
    settings: dict[str, Any]
    seed: int | None
    parent_id: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    wall_s: float
    owner: str | None = None
    pending: list[PendingCall] | None = None
    forked_from: str | None = None
    lease_token: int = 0
    lease_expires: float | None = None
    context: dict[str, Any] = field(default_factory=dict)
    thread_id: str | None = None
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEvent:
    """One recorded event: its kind (`agentflow.events.EVENT_TYPES`), per-run sequence number and data."""

    run_id: str
    seq: int
    kind: str
    step: int | None
    agent: str
    ts: str
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TraceEvent:
        """An `events` table row (the same columns in every backend), its data as stored JSON text."""
        return cls(
            run_id=row["run_id"],
            seq=row["seq"],
            kind=row["kind"],
            step=row["step"],
            agent=row["agent"] or "",
            ts=row["ts"],
            data=json.loads(row["data"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRun:
    """What a new run record holds at creation."""

    run_id: str
    graph: str
    input: Any
    model: str | None
    settings: dict[str, Any]
    seed: int | None
    budget: dict[str, Any]
    parent_id: str | None = None
    forked_from: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    thread_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """This process's right to execute a run: every write of the run carries `token`; claiming the run again
    (anywhere) bumps the token in the database, after which this lease's writes are refused. `record` is the
    run as it was when claimed."""

    run_id: str
    owner: str
    token: int
    expires_at: float
    record: RunRecord | None = None
    cancel_requested: bool = False  # (set by `renew`: someone asked for the run to stop)


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneReport:
    """What `prune` deleted (or, with `dry_run`, would delete)."""

    runs: list[str]
    events: int = 0
    checkpoints: int = 0


#: decides, against the run as stored at claim time, whether a claim may proceed (raises to refuse)
Accept = Callable[[RunRecord], None]
#: decides, against a thread's runs as stored (oldest first, the thread locked), what new run to add to it
#: (returns the run to insert, e.g. with what it continues from; raises to refuse)
ThreadCheck = Callable[[list[RunRecord]], NewRun]
#: the statuses of a run still in progress: a thread with one is busy
ACTIVE = ("queued", "running", "awaiting_approval")


class Storage(Protocol):
    """A database backend. Use as an async context manager; one instance serves many concurrent runs."""

    url: DatabaseURL
    lease_ttl_s: float

    @property
    def checkpointer(self) -> Any:
        """LangGraph's `BaseCheckpointSaver` over this database (writes fenced by the run's lease)."""
        ...

    @property
    def store(self) -> Any:
        """LangGraph's `BaseStore` over this database (tool data, memory)."""
        ...

    async def __aenter__(self) -> Storage: ...

    async def __aexit__(self, *exc_info: Any) -> None: ...

    # -- runs ---------------------------------------------------------------------------------------------------
    async def create_run(
        self, run: NewRun, *, owner: str, events: Sequence[Event] = (), thread: ThreadCheck | None = None
    ) -> Lease:
        """Record a new run, claimed by `owner`, with its first events; durable on return. With `thread`, the
        run joins `run.thread_id`: `thread(runs of the thread)` decides, atomically, what is inserted."""
        ...

    async def enqueue(
        self, run: NewRun, *, events: Sequence[Event] = (), thread: ThreadCheck | None = None
    ) -> RunRecord:
        """Record a new run as `queued` (no owner): a worker claims it with `claim_next`."""
        ...

    async def claim_next(self, *, owner: str, limit: int = 1) -> list[Lease]:
        """Claim up to `limit` runs to execute, oldest first, skipping runs other claimers hold: queued runs
        (once no earlier run of their thread is still in progress) and running runs whose lease expired
        (their process died). Concurrent claimers never get the same run."""
        ...

    async def request_cancel(self, run_id: str, events: Sequence[Event] = ()) -> RunRecord:
        """Ask a run to stop: a queued or paused run is cancelled at once (with `events`, its final ones); a
        running one is flagged, and its executor stops it at its next heartbeat (`Lease.cancel_requested`).
        Returns the run as it stands."""
        ...

    async def thread_runs(self, thread_id: str) -> list[RunRecord]:
        """The runs of a thread, oldest first."""
        ...

    async def get_run(self, run_id: str) -> RunRecord:
        """The run with this id (or unique id prefix); `UnknownRunError` if none."""
        ...

    async def list_runs(self, *, limit: int = 20, status: RunStatus | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        ...

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
        """Atomically take the run over: refuse (`RunBusyError`) while another owner's lease is live, let
        `accept(record)` refuse by raising, then bump the fencing token and mark the run running."""
        ...

    async def renew(self, lease: Lease) -> Lease:
        """Extend the lease (the heartbeat); `LeaseLostError` if another claim replaced it. The new lease says
        whether a cancel was requested."""
        ...

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
        """Record how the run ended (or paused) and release the lease."""
        ...

    async def update_pending(
        self,
        run_id: str,
        expected: Sequence[PendingCall],
        pending: Sequence[PendingCall],
        events: Sequence[Event] = (),
    ) -> None:
        """Store decisions on a paused run's calls, unless the stored calls differ from `expected`
        (`RunBusyError`: someone else decided or resumed meanwhile)."""
        ...

    # -- the trace ----------------------------------------------------------------------------------------------
    def record(self, lease: Lease, events: Sequence[Event], usage: Mapping[str, Any] | None = None) -> None:
        """Queue events of a run (and its usage so far); they are committed with its next awaited write."""
        ...

    async def flush(self, lease: Lease | None = None) -> None:
        """Return once everything queued so far is durable."""
        ...

    async def events(self, run_id: str, *, after: int = 0) -> list[TraceEvent]:
        """The run's trace events numbered above `after`, in order."""
        ...

    # -- the tool journal ---------------------------------------------------------------------------------------
    async def journal_start(
        self,
        lease: Lease,
        task: str,
        call_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        """Durably mark a call started (with everything queued before it), before the tool runs."""
        ...

    async def journal_finish(
        self,
        lease: Lease,
        task: str,
        call_id: str,
        outcome: Mapping[str, Any],
        events: Sequence[Event] = (),
        usage: Mapping[str, Any] | None = None,
    ) -> None: ...

    async def journal(self, run_id: str) -> list[dict[str, Any]]:
        """The run's journal rows (task, call_id, tool, arguments, status, outcome)."""
        ...

    # -- retention ----------------------------------------------------------------------------------------------
    async def prune(
        self, *, older_than: datetime, keep_failed: bool = False, dry_run: bool = False
    ) -> PruneReport:
        """Delete finished runs created before `older_than`, with their traces, journals and checkpoints."""
        ...

    async def compact(self, run_id: str) -> int:
        """Keep only the newest checkpoint of each of a finished run's graphs; return how many were deleted."""
        ...
