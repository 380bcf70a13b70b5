"""Running graphs: `Runner` owns a storage (the run database); `run` / `run_sync` are one-shot wrappers.

A run is a LangGraph thread (thread id = run id) checkpointed in the run database, so it can be resumed after a
cancellation, a crash or an exhausted budget. Every event goes to the trace and to the caller's `on_event`
callback, or to the async iterator `Runner.stream` yields. A process executes a run only while it holds the
run's lease: creating a run claims it; `resume` and `decide` claim it atomically (exactly one of several
processes racing for a run wins; the others get `RunBusyError` naming the run's new state).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from agentflow import approval
from agentflow.approval import HumanDecision
from agentflow.budget import DEFAULT_BUDGET, Budget, BudgetTracker, RunUsage
from agentflow.events import ApprovalDecided, Event, RunResumed, RunStarted
from agentflow.exceptions import (
    RunBusyError,
    ThreadBusyError,
    UserError,
)
from agentflow.failpoints import failpoint, gate
from agentflow.forks import Checkpoint, apply_edits, history
from agentflow.models.base import Model, SamplingSettings
from agentflow.models.spec import DEMO, load_model
from agentflow.redaction import redactor_for
from agentflow.result import RunResult
from agentflow.runtime.execution import (
    EventHandler,
    check_sandboxes,
    execute,
    notify,
    run_config,
)
from agentflow.runtime.journal import ToolJournal, load_journal
from agentflow.runtime.queueing import Queueing
from agentflow.runtime.run_settings import (
    check_roles,
    decided,
    describe_models,
    new_run_id,
    recorded_sources,
    reloadable,
    settings_of,
    sources_setting,
)
from agentflow.runtime.run_writer import RunWriter
from agentflow.runtime.services import RunServices
from agentflow.runtime.sources import recorded_pins
from agentflow.status import RunStatus
from agentflow.store import DatabaseURL, Storage, open_storage
from agentflow.store.base import Lease, NewRun, RunRecord
from agentflow.store.owner import process_owner
from agentflow.threads import OnBusy, check_policy, thread_check
from agentflow.tooling.source import ToolSource

__all__ = ["Runner", "new_run_id", "replay", "run", "run_sync"]

log = structlog.get_logger("agentflow.runner")


class Runner(Queueing):
    """Runs graphs against one database. Use as `async with Runner(db) as runner: await runner.run(...)`.

    `db` is a path or URL (`sqlite:///runs.db`, `postgresql://...`), default `$AGENTFLOW_DB` or the default
    file; or pass an already configured `storage`. `lease_ttl_s` is how long a run stays this process's after
    its last heartbeat (another process may take it over after that; default 30 s). Many runs may execute concurrently on one runner; each is its own LangGraph
    thread.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | DatabaseURL | None = None,
        *,
        storage: Storage | None = None,
        prices: dict[str, tuple[float, float]] | None = None,
        lease_ttl_s: float | None = None,
    ) -> None:
        options = {"lease_ttl_s": lease_ttl_s} if lease_ttl_s is not None else {}
        self.storage: Storage = storage if storage is not None else open_storage(db, **options)
        self.prices = prices
        self.owner = process_owner()
        self._compiled: dict[int, tuple[Any, Any]] = {}
        self._players: dict[str, Any] = {}  # run id -> the replay serving its recorded model and tool outputs

    async def __aenter__(self) -> Runner:
        await self.storage.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.storage.__aexit__(*exc_info)

    # -- graphs -----------------------------------------------------------------------------------------------
    def _compile(self, graph: Any, extra_tools: Sequence[Any] = ()) -> tuple[Any, str]:
        from agentflow.loader import graph_name, resolve_graph

        builder, name = resolve_graph(graph, extra_tools)
        cached = self._compiled.get(id(builder))
        if cached is not None and cached[0] is builder:
            return cached[1], name
        saver, store = self.storage.checkpointer, self.storage.store
        if hasattr(builder, "compile"):
            compiled = builder.compile(checkpointer=saver, store=store)
        else:  # already compiled by the user: give it our checkpointer and store
            compiled = builder.copy(update={"checkpointer": saver, "store": store})
        self._compiled[id(builder)] = (builder, compiled)
        return compiled, name or graph_name(builder)

    # -- running ----------------------------------------------------------------------------------------------
    async def run(
        self,
        graph: Any,
        input: Any,
        *,
        model: str | Model | None = None,
        models: Mapping[str, str | Model] | None = None,
        budget: Budget | None = None,
        settings: SamplingSettings | None = None,
        seed: int | None = None,
        context: Mapping[str, Any] | None = None,
        tool_sources: Sequence[ToolSource] = (),
        run_id: str | None = None,
        on_event: EventHandler | None = None,
        thread: str | None = None,
        on_busy: str = "reject",
    ) -> RunResult:
        """Run `graph` on `input` to the end; return the `RunResult` (also stored in the database).

        `graph` is a `StateGraph`, a compiled graph, a file path (`graphs/react.py`, `file.py:factory`) or a
        bundled graph name (`react`). `model` is a `Model` or a spec string; `models` overrides it per role.
        `context` holds values tools and nodes may read (`RunContext.context`), recorded with the run.
        `tool_sources` (MCP servers) go to a graph file's or bundled graph's factory as `tools=` (recorded
        with the run, without secrets, so `resume` can connect them again). `thread` continues that thread's
        conversation; `on_busy` says what happens while a run of it is in progress (`agentflow.threads`:
        reject, enqueue, interrupt, rollback).
        """
        policy = check_policy(on_busy)
        compiled, graph_ref = self._compile(graph, tool_sources)
        check_roles(compiled, graph_ref, models)
        default_model = load_model(model) if model is not None else None
        role_models = {role: load_model(m) for role, m in (models or {}).items()}
        return await self._start(
            compiled,
            graph_ref,
            input,
            default_model=default_model,
            role_models=role_models,
            budget=budget,
            settings=settings,
            seed=seed,
            context=context,
            extra_settings=sources_setting(tool_sources),
            run_id=run_id,
            on_event=on_event,
            thread=thread,
            policy=policy,
        )

    async def _start(
        self,
        compiled: Any,
        graph_ref: str,
        input: Any,
        *,
        default_model: Model | None,
        role_models: dict[str, Model],
        budget: Budget | None,
        settings: SamplingSettings | None,
        seed: int | None,
        context: Mapping[str, Any] | None,
        extra_settings: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        parent_id: str | None = None,
        check_sandbox: bool = True,
        on_event: EventHandler | None = None,
        thread: str | None = None,
        policy: OnBusy = "reject",
    ) -> RunResult:
        """Create a run of `compiled` and execute it (`run`, and a replay, which links it to its original);
        with `thread`, as that thread's next run under the busy-thread `policy`."""
        sandboxes = await check_sandboxes(compiled) if check_sandbox else []
        settings = settings or SamplingSettings()
        if seed is not None:
            settings = dataclasses.replace(settings, seed=seed)
        budget = budget or DEFAULT_BUDGET
        run_id = run_id or new_run_id()
        model_spec = describe_models(default_model, role_models) or DEMO  # nodes without a model use the demo
        started = RunStarted(run_id=run_id, graph=graph_ref, input=input, model=model_spec)
        new = NewRun(
            run_id=run_id,
            graph=graph_ref,
            input=input,
            model=model_spec,
            settings={**settings.as_dict(), **(extra_settings or {})},
            seed=settings.seed,
            budget=budget.as_dict(),
            context=dict(context or {}),
            parent_id=parent_id,
            thread_id=thread,
        )
        if thread is not None:
            try:
                lease = await self.storage.create_run(
                    new, owner=self.owner, events=[started], thread=thread_check(new, policy, wait=False)
                )
            except ThreadBusyError:
                if policy == "reject":
                    raise
                queued = await self.storage.enqueue(
                    new, events=[started], thread=thread_check(new, policy, wait=True)
                )
                await self._stop_for(queued)
                await notify(on_event, started)
                lease = await self._claim_when_ready(queued)
            new = dataclasses.replace(new, settings=(await self.storage.get_run(new.run_id)).settings)
        else:
            lease = await self.storage.create_run(new, owner=self.owner, events=[started])
        failpoint("after_run_record")
        tracker = BudgetTracker(budget=budget, prices=self.prices)
        svc = self._services(lease, tracker, default_model, role_models, settings, on_event, new.context, {})
        await notify(on_event, started)
        graph_input = await self._start_input(compiled, new.input, new.settings)
        return await execute(compiled, graph_input, svc, self.storage, lease, sandboxes=sandboxes)

    async def resume(
        self,
        run_id: str,
        *,
        graph: Any = None,
        model: str | Model | None = None,
        models: Mapping[str, str | Model] | None = None,
        budget: Budget | None = None,
        tool_sources: Sequence[ToolSource] | None = None,
        accept_tool_changes: bool = False,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Continue a run from its last checkpoint (or from its input, if it stopped before the first one): after
        a cancel, a crash, a failure or an exhausted budget. The graph, model, settings, budget and tool sources
        recorded with the run are reused unless given here; usage and wall time already spent keep counting.
        A tool source whose definition of a tool in use changed since the run started stops it
        (`ToolDefinitionChanged`) unless `accept_tool_changes`. A run waiting for decisions continues through
        `decide`. Raises `RunBusyError` if another process executes the run."""
        record = await self.storage.get_run(run_id)

        def accept(now: RunRecord) -> None:
            if now.status is RunStatus.SUCCEEDED:
                raise RunBusyError(f"run {now.id} already succeeded; nothing to resume")
            if now.status is RunStatus.QUEUED:
                raise RunBusyError(f"run {now.id} is queued: a worker will start it")
            if now.status is RunStatus.AWAITING_APPROVAL:
                undecided = [p.call_id for p in now.pending or [] if p.decision is None]
                if undecided:
                    raise UserError(
                        f"run {now.id} is waiting for decisions on {', '.join(undecided)}; "
                        "use approve / reject / answer"
                    )

        return await self._continue(
            record,
            accept,
            graph=graph,
            model=model,
            models=models,
            budget=budget,
            on_event=on_event,
            tool_sources=tool_sources,
            accept_tool_changes=accept_tool_changes,
        )

    async def decide(
        self,
        run_id: str,
        decisions: Sequence[HumanDecision],
        *,
        graph: Any = None,
        model: str | Model | None = None,
        models: Mapping[str, str | Model] | None = None,
        on_event: EventHandler | None = None,
        queue: bool = False,
    ) -> RunResult:
        """Record decisions on a paused run's calls; once every pending call has one, continue the run here
        (`queue=True`: hand it to the queue instead, for a worker to continue; it is `queued` on return).

        A decision without `call_id` applies to every call still undecided. An invalid edit raises
        `InvalidDecisionError` and the run stays paused. When several processes decide at once, exactly one
        continues the run; the others get `RunBusyError`.
        """
        record = await self.storage.get_run(run_id)
        if record.status is not RunStatus.AWAITING_APPROVAL or not record.pending:
            raise RunBusyError(f"run {record.id} is {record.status}, not waiting for decisions")
        updated = approval.decide(record.id, record.pending, decisions)
        stored = [approval.recorded_decision(p) for p in updated]  # (a sensitive edit is not recorded)
        events = [
            ApprovalDecided(
                run_id=record.id, call_id=new.call_id, tool=new.tool, decision=new.decision.to_json()
            )
            for old, new in zip(record.pending, stored, strict=True)
            if new.decision is not None and new.decision != old.decision
        ]
        gate("before_decide")
        await self.storage.update_pending(record.id, record.pending, stored, events)
        if any(p.decision is None for p in updated):
            return dataclasses.replace(RunResult.from_record(record), pending=stored)
        expected = [p.to_json() for p in stored]

        def accept(now: RunRecord) -> None:
            if (
                now.status is not RunStatus.AWAITING_APPROVAL
                or [p.to_json() for p in now.pending or []] != expected
            ):
                raise RunBusyError(f"run {now.id} is {now.status} now: another process decided or resumed it")

        if queue:
            lease = await self.storage.claim(record.id, owner=self.owner, accept=accept)
            await self.storage.finish_run(
                lease,
                status=RunStatus.QUEUED,
                output=None,
                partial=record.partial,
                usage=record.usage,
                budget_exhausted=None,
                error=None,
                pending=stored,
            )
            return RunResult.from_record(await self.storage.get_run(record.id))
        return await self._continue(
            record,
            accept,
            graph=graph,
            model=model,
            models=models,
            budget=None,
            on_event=on_event,
            decisions=updated,
        )

    async def _continue(
        self,
        record: RunRecord,
        accept: Any,
        *,
        graph: Any,
        model: str | Model | None,
        models: Mapping[str, str | Model] | None,
        budget: Budget | None,
        on_event: EventHandler | None,
        tool_sources: Sequence[ToolSource] | None = None,
        accept_tool_changes: bool = False,
        decisions: Sequence[approval.PendingCall] | None = None,
    ) -> RunResult:
        """Claim `record`'s run (if `accept` agrees with it as stored now) and execute it from where it stopped;
        `decisions`: the pending calls as decided here (their values, sensitive ones included, which the
        record keeps redacted) to continue a paused run with."""
        sources = recorded_sources(record) if tool_sources is None else list(tool_sources)
        compiled, graph_ref = self._compile(self._graph_of(record, graph), sources if graph is None else ())
        check_roles(compiled, graph_ref, models)
        default_model, role_models = self._models(record, model, models)
        budget = budget or Budget.from_dict(record.budget)
        player = self._players.get(record.id)
        needs_engine = player is None or player.live_tools
        sandboxes = await check_sandboxes(compiled) if needs_engine else []
        gate("before_claim")
        # the claim decides on the run as stored now, not as read above: a racing process may have changed it
        lease = await self.storage.claim(record.id, owner=self.owner, accept=accept, budget=budget.as_dict())
        now = lease.record or record
        resumed = RunResumed(
            run_id=now.id, previous_status=now.status, crashed=now.status is RunStatus.RUNNING
        )
        if decisions is not None:
            command = approval.resume_command(decisions)
        else:
            command = await self._resume_input(compiled, now)
        tracker = BudgetTracker(budget=budget, usage=RunUsage.from_dict(now.usage), prices=self.prices)
        entries = await load_journal(self.storage, now.id)
        svc = self._services(
            lease, tracker, default_model, role_models, settings_of(now), on_event, now.context, entries
        )
        await svc.record(resumed)
        pins = None if accept_tool_changes else recorded_pins(await self.storage.events(now.id))
        return await execute(compiled, command, svc, self.storage, lease, pins=pins, sandboxes=sandboxes)

    async def _resume_input(self, compiled: Any, record: RunRecord) -> Any:
        """What LangGraph continues with: the human decisions of a paused run; nothing (the last checkpoint)
        for a stopped one; the recorded input when the run stopped before its first checkpoint."""
        if record.status is RunStatus.AWAITING_APPROVAL or (
            record.status is RunStatus.QUEUED and decided(record)
        ):  # (a run that crashed after its decisions were handed over keeps them as pending: not again)
            return approval.resume_command(record.pending or [])
        snapshot = await compiled.aget_state(run_config(record.id, None))
        if not snapshot.values and not snapshot.next:
            return await self._start_input(compiled, record.input, record.settings)
        return None

    @asynccontextmanager
    async def stream(
        self, graph: Any, input: Any, **options: Any
    ) -> AsyncIterator[MemoryObjectReceiveStream[Event]]:
        """Run in the background and iterate its events; the last one is `RunFinished`.

        async with runner.stream("react", "What is 2+2?", model=...) as events:
            async for event in events: ...
        """
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=1000)

        async def forward(event: Event) -> None:
            await send.send(event)

        async def drive() -> None:
            async with send:
                await self.run(graph, input, on_event=forward, **options)

        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(drive)
            yield receive
            tg.cancel_scope.cancel()

    def _services(
        self,
        lease: Lease,
        tracker: BudgetTracker,
        model: Model | None,
        models: dict[str, Model],
        settings: SamplingSettings,
        on_event: EventHandler | None,
        context: Mapping[str, Any],
        journal: dict[tuple[str, str], dict[str, Any]],
    ) -> RunServices:
        svc = RunServices(
            run_id=lease.run_id,
            tracker=tracker,
            on_event=on_event,
            model=model,
            models=models,
            settings=settings,
            store=self.storage.store,
            context=context,
            logger=log.bind(run_id=lease.run_id),
        )
        svc.writer = RunWriter(self.storage, lease, svc.usage)
        svc.journal = ToolJournal(writer=svc.writer, entries=journal)
        svc.replay = self._players.get(lease.run_id)
        svc.redactor = redactor_for(lease.run_id)
        return svc

    # -- replay -----------------------------------------------------------------------------------------------
    async def replay(
        self,
        run_id: str,
        *,
        graph: Any = None,
        live_tools: bool = False,
        live_model: str | Model | None = None,
        until: int | None = None,
        fork_at: int | None = None,
        edits: dict[str, Any] | None = None,
        on_event: EventHandler | None = None,
    ) -> Any:
        """Re-execute run `run_id` from its recording, as a new run linked to it; returns a `ReplayResult`
        (its run, and the first divergence or None). See `agentflow.replayer`."""
        from agentflow.replayer import replay_run

        return await replay_run(
            self,
            run_id,
            graph=graph,
            live_tools=live_tools,
            live_model=live_model,
            until=until,
            fork_at=fork_at,
            edits=edits,
            on_event=on_event,
        )

    # -- history and forks -------------------------------------------------------------------------------------
    async def history(self, run_id: str, *, graph: Any = None) -> list[Checkpoint]:
        """The run's checkpoints, oldest first (numbered from 0)."""
        record = await self.storage.get_run(run_id)
        compiled, _ = self._compile(self._graph_of(record, graph))
        return await history(compiled, record.id)

    async def fork(
        self,
        parent: str,
        *,
        at: int,
        edits: dict[str, Any] | None = None,
        graph: Any = None,
        model: str | Model | None = None,
        models: Mapping[str, str | Model] | None = None,
        budget: Budget | None = None,
        on_event: EventHandler | None = None,
        run_id: str | None = None,
    ) -> RunResult:
        """Start a new run from checkpoint `at` of `parent`, with `edits` applied to its state, and run it."""
        record = await self.storage.get_run(parent)
        compiled, graph_ref = self._compile(self._graph_of(record, graph))
        check_roles(compiled, graph_ref, models)
        sandboxes = await check_sandboxes(compiled)
        checkpoints = await history(compiled, record.id)
        if not 0 <= at < len(checkpoints):
            raise UserError(f"run {record.id} has checkpoints 0..{len(checkpoints) - 1}; there is no {at}")
        point = checkpoints[at]
        values = apply_edits(point.values, edits)
        fresh = point.after in (None, "__start__")  # before any node ran: a new run on the (edited) input
        new_id = run_id or new_run_id()
        default_model, role_models = self._models(record, model, models)
        settings = settings_of(record)
        budget = budget or Budget.from_dict(record.budget)
        model_spec = describe_models(default_model, role_models) or record.model
        started = RunStarted(
            run_id=new_id, graph=graph_ref, input=values.get("input", record.input), model=model_spec
        )
        new = NewRun(
            run_id=new_id,
            graph=graph_ref,
            input=started.input,
            model=model_spec,
            settings=settings.as_dict(),
            seed=settings.seed,
            budget=budget.as_dict(),
            parent_id=record.id,
            forked_from=f"{record.id}@{at}",
            context=record.context,
        )
        lease = await self.storage.create_run(new, owner=self.owner, events=[started])
        if not fresh:
            await compiled.aupdate_state({"configurable": {"thread_id": new_id}}, values, as_node=point.after)
        tracker = BudgetTracker(budget=budget, prices=self.prices)
        svc = self._services(lease, tracker, default_model, role_models, settings, on_event, new.context, {})
        await notify(on_event, started)
        graph_input = {"input": started.input} if fresh else None
        return await execute(compiled, graph_input, svc, self.storage, lease, sandboxes=sandboxes)

    def _graph_of(self, record: RunRecord, graph: Any) -> Any:
        if graph is None and record.graph.startswith("python:"):
            raise UserError(f"run {record.id} ran an in-memory graph ({record.graph}); pass its graph")
        return graph if graph is not None else record.graph

    def _models(
        self, record: RunRecord, model: str | Model | None, models: Mapping[str, str | Model] | None
    ) -> tuple[Model | None, dict[str, Model]]:
        """The models a continued run uses: those given, else the spec recorded with the run."""
        if model is None and record.model and not models:
            recorded = record.model.split()
            default = next((m for m in recorded if "=" not in m.split(":", 1)[0]), None)
            roles = dict(m.split("=", 1) for m in recorded if "=" in m.split(":", 1)[0])
            return (
                load_model(default) if default and reloadable(default) else None,
                {r: load_model(m) for r, m in roles.items() if reloadable(m)},
            )
        return (
            load_model(model) if model is not None else None,
            {role: load_model(m) for role, m in (models or {}).items()},
        )

    # -- reading ----------------------------------------------------------------------------------------------
    async def result_of(self, run_id: str) -> RunResult:
        """The stored result of a run (as it stands, for a run still executing)."""
        return RunResult.from_record(await self.storage.get_run(run_id))


async def run(
    graph: Any, input: Any, *, db: str | os.PathLike[str] | None = None, **options: Any
) -> RunResult:
    """Run `graph` once with a fresh `Runner` on `db` (see `Runner.run` for the options)."""
    async with Runner(db) as runner:
        return await runner.run(graph, input, **options)


def run_sync(
    graph: Any, input: Any, *, db: str | os.PathLike[str] | None = None, **options: Any
) -> RunResult:
    """Blocking `run`, for scripts and notebooks without an event loop."""
    return anyio.run(lambda: run(graph, input, db=db, **options))


async def replay(run_id: str, *, db: str | os.PathLike[str] | None = None, **options: Any) -> Any:
    """Replay run `run_id` of `db` with a fresh `Runner` (see `Runner.replay` for the options); returns a
    `ReplayResult`."""
    async with Runner(db) as runner:
        return await runner.replay(run_id, **options)
