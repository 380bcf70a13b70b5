"""The queue side of `Runner`: runs recorded for workers (`enqueue`), claimed and executed by them
(`execute_claimed`), cancelled wherever they execute (`cancel`), and a busy thread's next run waiting its turn.
A mixin: `Runner` inherits these methods; they use its storage, compiler and services."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from agentflow.budget import DEFAULT_BUDGET, Budget, BudgetTracker, RunUsage
from agentflow.events import RunFinished, RunResumed, RunStarted
from agentflow.exceptions import AgentflowError, ConfigError, GraphRefError, RunBusyError
from agentflow.messages import user_message
from agentflow.models.base import SamplingSettings
from agentflow.models.spec import DEMO
from agentflow.nodes.model_node import input_text
from agentflow.result import RunResult
from agentflow.runtime.execution import (
    EventHandler,
    cancel_local,
    check_sandboxes,
    execute,
    run_config,
)
from agentflow.runtime.journal import load_journal
from agentflow.runtime.run_settings import (
    decided,
    new_run_id,
    recorded_sources,
    settings_of,
    sources_setting,
)
from agentflow.runtime.sources import recorded_pins
from agentflow.status import RunStatus
from agentflow.store.base import ACTIVE, Lease, NewRun, RunRecord
from agentflow.threads import check_policy, thread_check, thread_messages
from agentflow.tooling.source import ToolSource

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agentflow.store.base import Storage

__all__ = ["Queueing"]


class Queueing:
    """`Runner`'s queue, worker and cancel methods (see the module docstring)."""

    if TYPE_CHECKING:  # (what `Runner` provides)
        storage: Storage
        prices: dict[str, tuple[float, float]] | None
        owner: str
        _compile: Callable[..., tuple[Any, str]]
        _graph_of: Callable[..., Any]
        _models: Callable[..., tuple[Any, dict[str, Any]]]
        _services: Callable[..., Any]
        _resume_input: Callable[..., Awaitable[Any]]

    async def enqueue(
        self,
        graph: str | os.PathLike[str],
        input: Any,
        *,
        model: str | None = None,
        models: Mapping[str, str] | None = None,
        budget: Budget | None = None,
        settings: SamplingSettings | None = None,
        seed: int | None = None,
        context: Mapping[str, Any] | None = None,
        tool_sources: Sequence[ToolSource] = (),
        run_id: str | None = None,
        thread: str | None = None,
        on_busy: str = "reject",
    ) -> str:
        """Record a run for a worker to execute (`agentflow worker`, `Worker`) and return its id at once.

        Workers load the graph themselves, so `graph` must be a reference they can load: a bundled graph's
        name, a graph file (`path.py`, `path.py:factory`) or a module path (`package.module:factory`) — a
        graph object is refused (`GraphRefError`); models are spec strings for the same reason. The run is
        `queued` until a worker claims it; `thread` / `on_busy` as in `run` (a busy thread's new run waits for
        the runs before it, unless the policy is reject)."""
        policy = check_policy(on_busy)
        if not isinstance(graph, str | os.PathLike):
            raise GraphRefError(
                f"a queued run is executed by a worker, which loads its graph by reference: pass a bundled graph "
                f"name, a graph file or 'package.module:factory', not a {type(graph).__name__}"
            )
        for spec in [model, *(models or {}).values()]:
            if spec is not None and not isinstance(spec, str):
                raise ConfigError(
                    f"a queued run's models are spec strings workers can load (got a {type(spec).__name__})"
                )
        from agentflow.loader import check_graph_ref, resolve_graph

        check_graph_ref(os.fspath(graph))
        _, graph_ref = resolve_graph(os.fspath(graph), tool_sources)
        for spec in [model, *(models or {}).values()]:
            if spec is not None:
                from agentflow.models.spec import check_model_spec

                check_model_spec(spec)
        settings = settings or SamplingSettings()
        if seed is not None:
            settings = dataclasses.replace(settings, seed=seed)
        run_id = run_id or new_run_id()
        model_spec = " ".join(
            [*([model] if model else []), *(f"{r}={m}" for r, m in sorted((models or {}).items()))]
        )
        new = NewRun(
            run_id=run_id,
            graph=graph_ref,
            input=input,
            model=model_spec or DEMO,
            settings={**settings.as_dict(), **sources_setting(tool_sources)},
            seed=settings.seed,
            budget=(budget or DEFAULT_BUDGET).as_dict(),
            context=dict(context or {}),
            thread_id=thread,
        )
        started = RunStarted(run_id=run_id, graph=graph_ref, input=input, model=new.model)
        check = thread_check(new, policy, wait=True) if thread is not None else None
        record = await self.storage.enqueue(new, events=[started], thread=check)
        await self._stop_for(record)
        return record.id

    async def cancel(self, run_id: str) -> RunResult:
        """Stop a run wherever it executes: a queued or paused run is cancelled at once; a running one stops at
        its next heartbeat (at once, if it runs in this process), sub-agents and parallel steps included, and
        is recorded `cancelled` (resumable). Returns the run as it stands."""
        record = await self.storage.get_run(run_id)
        final = RunFinished(run_id=record.id, status=RunStatus.CANCELLED, output=None, usage=record.usage)
        record = await self.storage.request_cancel(record.id, events=[final])
        cancel_local(record.id)
        return RunResult.from_record(record)

    async def _stop_for(self, record: RunRecord) -> None:
        """Cancel the runs a new run of a thread stops (policies interrupt and rollback)."""
        for stopped in (record.settings.get("thread") or {}).get("stops") or []:
            await self.cancel(stopped)

    async def _claim_when_ready(self, record: RunRecord) -> Lease:
        """Claim a queued run of a thread here once the runs before it have stopped."""
        assert record.thread_id is not None

        def still_queued(now: RunRecord) -> None:
            if now.status is not RunStatus.QUEUED:
                raise RunBusyError(f"run {now.id} is {now.status} now: a worker took it")

        while True:
            runs = await self.storage.thread_runs(record.thread_id)
            before = [r for r in runs if r.created_at < record.created_at and r.status in ACTIVE]
            if not before:
                return await self.storage.claim(record.id, owner=self.owner, accept=still_queued)
            await anyio.sleep(0.1)  # waiting for the runs before it to stop (a state in the database)

    async def _start_input(self, compiled: Any, input: Any, settings: Mapping[str, Any]) -> Any:
        """A fresh run's graph input: its input, and for a run of a thread the conversation it continues."""
        previous = (settings.get("thread") or {}).get("continues")
        if not previous:
            return {"input": input}
        snapshot = await compiled.aget_state(run_config(previous, None))
        history = thread_messages(snapshot.values)
        if not history:
            return {"input": input}
        return {"input": input, "messages": [*history, user_message(input_text(input))]}

    async def execute_claimed(self, lease: Lease, *, on_event: EventHandler | None = None) -> RunResult:
        """Execute a run a worker claimed (`storage.claim_next`): a queued run from its start, a run whose
        previous executor died from its last checkpoint. A graph or model that cannot be loaded fails the run
        (recorded) instead of leaving it claimed."""
        record = lease.record
        assert record is not None
        try:
            compiled, _ = self._compile(self._graph_of(record, None), recorded_sources(record))
            default_model, role_models = self._models(record, None, None)
            sandboxes = await check_sandboxes(compiled)
        except AgentflowError as exc:
            error = {"type": type(exc).__name__, "message": str(exc)}
            final = RunFinished(
                run_id=record.id, status=RunStatus.FAILED, output=None, usage=record.usage, error=error
            )
            await self.storage.finish_run(
                lease,
                status=RunStatus.FAILED,
                output=None,
                partial=None,
                usage=record.usage,
                budget_exhausted=None,
                error=error,
                events=[final],
            )
            return RunResult.from_record(await self.storage.get_run(record.id))
        budget = Budget.from_dict(record.budget)
        tracker = BudgetTracker(budget=budget, usage=RunUsage.from_dict(record.usage), prices=self.prices)
        fresh = record.status is RunStatus.QUEUED and not decided(record)
        entries = {} if fresh else await load_journal(self.storage, record.id)
        svc = self._services(
            lease,
            tracker,
            default_model,
            role_models,
            settings_of(record),
            on_event,
            record.context,
            entries,
        )
        if fresh:
            command = await self._start_input(compiled, record.input, record.settings)
            pins = None
        else:
            was_decided = record.status is RunStatus.QUEUED and decided(record)
            previous = RunStatus.AWAITING_APPROVAL if was_decided else record.status
            await svc.record(
                RunResumed(run_id=record.id, previous_status=previous, crashed=previous is RunStatus.RUNNING)
            )
            command = await self._resume_input(compiled, record)
            pins = recorded_pins(await self.storage.events(record.id))
        return await execute(compiled, command, svc, self.storage, lease, pins=pins, sandboxes=sandboxes)
