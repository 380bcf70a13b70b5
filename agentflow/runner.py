"""Running graphs: `Runner` owns the database and checkpointer; `run` / `run_sync` are one-shot wrappers.

A run is a LangGraph thread (thread id = run id) checkpointed in the run database, so it can be resumed after a
cancellation, a crash or an exhausted budget. Every event goes to the trace (SQLite) and to the caller's
`on_event` callback, or to the async iterator `Runner.stream` yields.
"""

from __future__ import annotations

import dataclasses
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from agentflow.approval import Decision, InvalidDecisionError, PendingCall, validate_decision
from agentflow.budget import DEFAULT_BUDGET, Budget, BudgetTracker, RunUsage
from agentflow.events import ApprovalDecided, Event, RunErrored, RunFinished, RunResumed, RunStarted
from agentflow.exceptions import AgentflowError, BudgetExhausted, UserError
from agentflow.forks import Checkpoint, apply_edits, history
from agentflow.runtime.journal import ToolJournal
from agentflow.runtime.services import RunServices
from agentflow.models.base import Model, SamplingSettings
from agentflow.models.spec import BACKENDS, load_model
from agentflow.result import RunResult
from agentflow.store.db import resolve_db_path
from agentflow.store.runs import RunRecord, RunStore
from agentflow.store.writer import TraceWriter

__all__ = ["Runner", "new_run_id", "run", "run_sync"]

EventHandler = Callable[[Event], Awaitable[None] | None]
log = structlog.get_logger("agentflow.runner")


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class Runner:
    """Runs graphs against one database. Use as `async with Runner(db) as runner: await runner.run(...)`.

    Many runs may execute concurrently on one runner; each is its own LangGraph thread.
    """

    def __init__(self, db: str | Path | None = None, *, prices: dict[str, tuple[float, float]] | None = None,
                 stores: dict[str, Any] | None = None) -> None:
        self.db_path = resolve_db_path(db)
        self.prices = prices
        self.stores = stores or {}
        self._stack: AsyncExitStack | None = None
        self.store: RunStore
        self._saver: Any = None
        self._compiled: dict[int, tuple[Any, Any]] = {}

    async def __aenter__(self) -> Runner:
        from agentflow.store.checkpointer import TracingSaver

        self.store = await anyio.to_thread.run_sync(RunStore, self.db_path)
        self._stack = AsyncExitStack()
        self._stack.callback(self.store.close)
        self._saver = await self._stack.enter_async_context(TracingSaver.from_conn_string(str(self.db_path)))
        await self._saver.conn.execute("PRAGMA busy_timeout = 30000")
        await self._saver.setup()
        self.writer = TraceWriter(self._saver.conn, self._saver.lock)
        self._saver.writer = self.writer
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._stack is not None
        with anyio.CancelScope(shield=True):
            try:
                await self.writer.flush()
            finally:
                await self._stack.aclose()

    # -- graphs -----------------------------------------------------------------------------------------------
    def _compile(self, graph: Any) -> tuple[Any, str]:
        from agentflow.loader import graph_name, resolve_graph

        builder, name = resolve_graph(graph)
        cached = self._compiled.get(id(builder))
        if cached is not None and cached[0] is builder:
            return cached[1], name
        if hasattr(builder, "compile"):
            compiled = builder.compile(checkpointer=self._saver)
        else:  # already compiled by the user: give it our checkpointer
            compiled = builder.copy(update={"checkpointer": self._saver})
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
        run_id: str | None = None,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Run `graph` on `input` to the end; return the `RunResult` (also stored in the database).

        `graph` is a `StateGraph`, a compiled graph, a file path (`graphs/react.py`, `file.py:factory`) or a
        bundled graph name (`react`). `model` is a `Model` or a spec string; `models` overrides it per role.
        """
        compiled, graph_ref = self._compile(graph)
        # [issue 16, sandbox helper] engine + image checked before any model call; the lead wires this properly
        from agentflow.sandbox import preflight, sandbox_policies
        if policies := sandbox_policies(compiled):
            await preflight(policies)
        settings = settings or SamplingSettings()
        if seed is not None:
            settings = SamplingSettings(temperature=settings.temperature, top_p=settings.top_p,
                                        max_tokens=settings.max_tokens, seed=seed)
        budget = budget or DEFAULT_BUDGET
        default_model = load_model(model) if model is not None else None
        role_models = {role: load_model(m) for role, m in (models or {}).items()}
        run_id = run_id or new_run_id()
        model_spec = _describe_models(default_model, role_models)
        started = RunStarted(run_id=run_id, graph=graph_ref, input=input, model=model_spec)
        await self.writer.create_run(run_id=run_id, graph=graph_ref, input=input, model=model_spec,
                                     settings=settings.as_dict(), seed=settings.seed, budget=budget.as_dict(),
                                     events=[started])
        tracker = BudgetTracker(budget=budget, prices=self.prices)
        svc = self._services(run_id, tracker, default_model, role_models, settings, on_event,
                             ToolJournal(run_id=run_id, store=self.writer))
        await _notify(on_event, started)
        return await self._execute(compiled, {"input": input}, svc)

    async def resume(
        self,
        run_id: str,
        *,
        graph: Any = None,
        model: str | Model | None = None,
        models: Mapping[str, str | Model] | None = None,
        budget: Budget | None = None,
        on_event: EventHandler | None = None,
    ) -> RunResult:
        """Continue a run from its last checkpoint: after a cancel, a crash, a failure or an exhausted budget.

        The graph, model, settings and budget recorded with the run are reused unless given here; usage and
        wall time already spent keep counting. A run waiting for decisions continues through `decide`.
        Raises `RunBusyError` if another live process is executing the run.
        """
        record = await anyio.to_thread.run_sync(self.store.get_run, run_id)
        if record.status == "succeeded":
            raise UserError(f"run {record.id} already succeeded; nothing to resume")
        command = None
        if record.status == "awaiting_approval":
            pending = [PendingCall.from_dict(p) for p in record.pending or []]
            undecided = [p.call_id for p in pending if p.decision is None]
            if undecided:
                raise UserError(f"run {record.id} is waiting for decisions on {', '.join(undecided)}; "
                                "use approve / reject / answer")
            command = _resume_command(pending)
        return await self._continue(record, command, graph=graph, model=model, models=models, budget=budget,
                                    on_event=on_event)

    async def decide(self, run_id: str, decisions: Sequence[Decision], *, graph: Any = None,
                     model: str | Model | None = None, models: Mapping[str, str | Model] | None = None,
                     on_event: EventHandler | None = None) -> RunResult:
        """Record decisions on a paused run's calls; once every pending call has one, continue the run here.

        A decision without `call_id` applies to every call still undecided. An invalid edit raises
        `InvalidDecisionError` and the run stays paused.
        """
        record = await anyio.to_thread.run_sync(self.store.get_run, run_id)
        if record.status != "awaiting_approval" or not record.pending:
            raise UserError(f"run {record.id} is {record.status}, not waiting for decisions")
        pending = [PendingCall.from_dict(p) for p in record.pending]
        by_id = {p.call_id: p for p in pending}
        decided: dict[str, dict[str, Any]] = {}
        for decision in decisions:
            if decision.call_id is not None and decision.call_id not in by_id:
                raise InvalidDecisionError(f"run {record.id} has no pending call '{decision.call_id}' "
                                           f"(pending: {', '.join(by_id)})")
            targets = [by_id[decision.call_id]] if decision.call_id else [p for p in pending if p.decision is None]
            for call in targets:
                decided[call.call_id] = validate_decision(call, decision)
        updated = [dataclasses.replace(p, decision=decided.get(p.call_id, p.decision)) for p in pending]
        events = [ApprovalDecided(run_id=record.id, call_id=cid, tool=by_id[cid].tool, decision=d)
                  for cid, d in decided.items()]
        await self.writer.update_pending(record.id, record.pending, [p.as_dict() for p in updated], events)
        if any(p.decision is None for p in updated):
            return dataclasses.replace(RunResult.from_record(record), pending=[p.as_dict() for p in updated])
        record = dataclasses.replace(record, pending=[p.as_dict() for p in updated])
        return await self._continue(record, _resume_command(updated), graph=graph, model=model, models=models,
                                    budget=None, on_event=on_event)

    async def _continue(self, record: RunRecord, command: Any, *, graph: Any, model: str | Model | None,
                        models: Mapping[str, str | Model] | None, budget: Budget | None,
                        on_event: EventHandler | None) -> RunResult:
        compiled, _ = self._compile(self._graph_of(record, graph))
        default_model, role_models = self._models(record, model, models)
        settings = _settings_of(record)
        budget = budget or Budget.from_dict(record.budget)
        crashed = record.status == "running"  # claim() refuses if its owner is alive: it died mid-run
        resumed = RunResumed(run_id=record.id, previous_status=record.status, crashed=crashed)
        await self.writer.claim(record.id, budget=budget.as_dict(), events=[resumed], pending=record.pending)
        tracker = BudgetTracker(budget=budget, usage=RunUsage.from_dict(record.usage), prices=self.prices)
        journal = ToolJournal(run_id=record.id, store=self.writer, entries=await self.writer.load_journal(record.id))
        svc = self._services(record.id, tracker, default_model, role_models, settings, on_event, journal)
        await _notify(on_event, resumed)
        return await self._execute(compiled, command, svc)

    @asynccontextmanager
    async def stream(self, graph: Any, input: Any, **options: Any) -> AsyncIterator[MemoryObjectReceiveStream[Event]]:
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

    def _services(self, run_id: str, tracker: BudgetTracker, model: Model | None, models: dict[str, Model],
                  settings: SamplingSettings, on_event: EventHandler | None, journal: ToolJournal) -> RunServices:
        return RunServices(run_id=run_id, tracker=tracker, sink=self.writer, journal=journal, on_event=on_event,
                           model=model,
                           models=models, settings=settings, db_path=self.db_path, stores=self.stores,
                           logger=log.bind(run_id=run_id))

    async def _execute(self, compiled: Any, graph_input: Any, svc: RunServices) -> RunResult:
        tracker = svc.tracker
        steps_cap = tracker.budget.max_steps
        config = {"configurable": {"thread_id": svc.run_id},
                  "recursion_limit": 10_000 if steps_cap is None else 4 * steps_cap + 50}
        status, budget_name, error = "succeeded", None, None
        try:
            with anyio.CancelScope() as wall:
                remaining = tracker.remaining_wall_s()
                if remaining is not None:
                    wall.deadline = anyio.current_time() + remaining
                try:
                    # "sync": each checkpoint is on disk before the next step starts, so a crash never loses the
                    # step that led to a side effect (the journal's keys depend on it)
                    await compiled.ainvoke(graph_input, config, context=svc, durability="sync")
                except BudgetExhausted as exc:
                    status, budget_name = "budget_exhausted", exc.budget
                except Exception as exc:
                    status, error = "failed", _error_of(exc)
            if wall.cancelled_caught:
                svc.cancelled.set()
                status, budget_name, error = "budget_exhausted", "time", None
        except anyio.get_cancelled_exc_class():
            svc.cancelled.set()
            with anyio.CancelScope(shield=True):
                await self._finish(compiled, config, svc, "cancelled", None, None)
            raise
        return await self._finish(compiled, config, svc, status, budget_name, error)

    async def _finish(self, compiled: Any, config: dict[str, Any], svc: RunServices, status: str,
                      budget_name: str | None, error: dict[str, str] | None) -> RunResult:
        values: dict[str, Any] = {}
        pending: list[dict[str, Any]] = []
        try:
            snapshot = await compiled.aget_state(config)
            values = dict(snapshot.values or {})
            pending = _pending_calls(snapshot)
            if status != "succeeded":
                values["partial"] = _with_finished_tasks(values.get("partial"), snapshot)
        except Exception as exc:  # the result must still be recorded
            log.warning("could not read final state", run_id=svc.run_id, error=str(exc))
        if status == "succeeded" and pending:
            status = "awaiting_approval"
        output = values.get("output") if status == "succeeded" else None
        if status == "succeeded" and "output" not in values:
            status, error = "failed", {"type": "GraphError", "message": "the graph ended without an 'output'"}
        if error is not None:
            await svc.record(RunErrored(run_id=svc.run_id, error_type=error["type"], message=error["message"]))
        svc.tracker.sync_wall()
        usage = svc.tracker.usage.as_dict()
        pending = pending if status == "awaiting_approval" else []
        result = RunResult(run_id=svc.run_id, status=status, output=output, partial=values.get("partial"),
                           usage=usage, budget=budget_name, error=error, pending=pending)
        final = RunFinished(run_id=svc.run_id, status=status, output=output, usage=usage, budget=budget_name,
                            error=error)
        await self.writer.finish_run(svc.run_id, status=status, output=output, partial=result.partial, usage=usage,
                                     budget_exhausted=budget_name, error=error, pending=pending,
                                     events=[final])
        await _notify(svc.on_event, final)  # listeners see the final event once it is durable
        # [issue 16, sandbox helper] the run's sandbox containers and work dir go when its execution ends
        from agentflow.sandbox import release_run
        await release_run(svc.run_id)
        return result

    # -- history and forks -------------------------------------------------------------------------------------
    async def history(self, run_id: str, *, graph: Any = None) -> list[Checkpoint]:
        """The run's checkpoints, oldest first (numbered from 0)."""
        record = await anyio.to_thread.run_sync(self.store.get_run, run_id)
        compiled, _ = self._compile(self._graph_of(record, graph))
        return await history(compiled, record.id)

    async def fork(self, parent: str, *, at: int, edits: dict[str, Any] | None = None, graph: Any = None,
                   model: str | Model | None = None, models: Mapping[str, str | Model] | None = None,
                   budget: Budget | None = None, on_event: EventHandler | None = None,
                   run_id: str | None = None) -> RunResult:
        """Start a new run from checkpoint `at` of `parent`, with `edits` applied to its state, and run it."""
        record = await anyio.to_thread.run_sync(self.store.get_run, parent)
        compiled, graph_ref = self._compile(self._graph_of(record, graph))
        checkpoints = await history(compiled, record.id)
        if not 0 <= at < len(checkpoints):
            raise UserError(f"run {record.id} has checkpoints 0..{len(checkpoints) - 1}; there is no {at}")
        point = checkpoints[at]
        values = apply_edits(point.values, edits)
        fresh = point.after in (None, "__start__")  # before any node ran: a new run on the (edited) input
        new_id = run_id or new_run_id()
        default_model, role_models = self._models(record, model, models)
        settings = _settings_of(record)
        budget = budget or Budget.from_dict(record.budget)
        model_spec = _describe_models(default_model, role_models) or record.model
        started = RunStarted(run_id=new_id, graph=graph_ref, input=values.get("input", record.input),
                             model=model_spec)
        await self.writer.create_run(run_id=new_id, graph=graph_ref, input=started.input, model=model_spec,
                                     settings=settings.as_dict(), seed=settings.seed, budget=budget.as_dict(),
                                     parent_id=record.id, forked_from=f"{record.id}@{at}", events=[started])
        if not fresh:
            await compiled.aupdate_state({"configurable": {"thread_id": new_id}}, values, as_node=point.after)
        tracker = BudgetTracker(budget=budget, prices=self.prices)
        svc = self._services(new_id, tracker, default_model, role_models, settings, on_event,
                             ToolJournal(run_id=new_id, store=self.writer))
        await _notify(on_event, started)
        return await self._execute(compiled, {"input": started.input} if fresh else None, svc)

    def _graph_of(self, record: RunRecord, graph: Any) -> Any:
        if graph is None and record.graph.startswith("python:"):
            raise UserError(f"run {record.id} ran an in-memory graph ({record.graph}); pass its graph")
        return graph if graph is not None else record.graph

    def _models(self, record: RunRecord, model: str | Model | None,
                models: Mapping[str, str | Model] | None) -> tuple[Model | None, dict[str, Model]]:
        """The models a continued run uses: those given, else the spec recorded with the run."""
        if model is None and record.model and not models:
            recorded = record.model.split()
            default = next((m for m in recorded if "=" not in m.split(":", 1)[0]), None)
            roles = dict(m.split("=", 1) for m in recorded if "=" in m.split(":", 1)[0])
            return (load_model(default) if default and _reloadable(default) else None,
                    {r: load_model(m) for r, m in roles.items() if _reloadable(m)})
        return (load_model(model) if model is not None else None,
                {role: load_model(m) for role, m in (models or {}).items()})

    # -- reading ----------------------------------------------------------------------------------------------
    def result_of(self, run_id: str) -> RunResult:
        return RunResult.from_record(self.store.get_run(run_id))


def _with_finished_tasks(partial: Any, snapshot: Any) -> Any:
    """A stopped run's partial result, including what parallel branches finished in the step that stopped:
    their writes are saved (and not redone on resume) but not yet merged into the state. Dict partials
    (e.g. plan-and-execute's step results) are merged; other partials are left as the state has them."""
    if partial is not None and not isinstance(partial, dict):
        return partial
    merged = dict(partial or {})
    for task in snapshot.tasks or ():
        result = task.result
        if isinstance(result, dict) and isinstance(result.get("partial"), dict):
            merged.update(result["partial"])
    return merged if merged or partial is not None else None


def _pending_calls(snapshot: Any) -> list[dict[str, Any]]:
    """The calls a paused run waits on, from every approval interrupt (parallel branches included)."""
    pending = []
    for item in snapshot.interrupts or ():
        value = item.value
        if isinstance(value, dict) and value.get("kind") == "approval":
            pending += [{**call, "interrupt_id": item.id, "decision": None} for call in value["calls"]]
    return pending


def _resume_command(pending: Sequence[PendingCall]) -> Any:
    """The LangGraph resume value: per interrupt, the decisions keyed by call id."""
    from langgraph.types import Command

    by_interrupt: dict[str, dict[str, Any]] = {}
    for call in pending:
        by_interrupt.setdefault(call.interrupt_id, {})[call.call_id] = call.decision
    return Command(resume=by_interrupt)


async def _notify(handler: EventHandler | None, event: Event) -> None:
    if handler is not None:
        result = handler(event)
        if inspect.isawaitable(result):
            await result


def _reloadable(spec: str) -> bool:
    """Whether a recorded model spec can be loaded again (in-memory fakes cannot)."""
    return spec == "demo" or (":" in spec and spec.split(":", 1)[0] in BACKENDS)


def _settings_of(record: RunRecord) -> SamplingSettings:
    return SamplingSettings(**{k: v for k, v in record.settings.items()
                               if k in ("temperature", "top_p", "max_tokens", "seed")})


def _describe_models(default: Model | None, roles: dict[str, Model]) -> str | None:
    parts = [default.spec] if default is not None else []
    parts += [f"{role}={m.spec}" for role, m in sorted(roles.items())]
    return " ".join(parts) or None


def _error_of(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, AgentflowError):
        return {"type": type(exc).__name__, "message": str(exc)}
    return {"type": type(exc).__name__, "message": str(exc) or repr(exc)}


async def run(graph: Any, input: Any, *, db: str | Path | None = None, **options: Any) -> RunResult:
    """Run `graph` once with a fresh `Runner` on `db` (see `Runner.run` for the options)."""
    async with Runner(db) as runner:
        return await runner.run(graph, input, **options)


def run_sync(graph: Any, input: Any, *, db: str | Path | None = None, **options: Any) -> RunResult:
    """Blocking `run`, for scripts and notebooks without an event loop."""
    return anyio.run(lambda: run(graph, input, db=db, **options))

