"""Executing a claimed run: the graph under its wall-time deadline, the lease kept alive, and the end recorded.

`execute` drives LangGraph (`durability="sync"`: each checkpoint is durable before the next step, so a crash
never loses the step that led to a side effect) while a heartbeat renews the run's lease. However the run ends
— an answer, a pause for approval, an exhausted budget, a failure, a cancellation — `finish` reads the final
state and records the result with the run's lease; the final event reaches listeners once it is durable.
If the lease is lost (another process took the run over), the run stops where it is and `LeaseLostError`
propagates: this process may write nothing more to it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import structlog

from agentflow import approval
from agentflow.events import Event, RunErrored, RunFinished, SandboxReady, ToolSourcesConnected
from agentflow.exceptions import AgentflowError, BudgetExhausted, LeaseLostError
from agentflow.redaction import release as release_redactions
from agentflow.result import RunResult
from agentflow.runtime.services import RunServices
from agentflow.runtime.sources import connect_sources
from agentflow.status import RunStatus
from agentflow.store.base import Lease, Storage
from agentflow.tooling.source import graph_sources

__all__ = ["EventHandler", "cancel_local", "check_sandboxes", "execute", "notify"]

EventHandler = Callable[[Event], Awaitable[None] | None]
log = structlog.get_logger("agentflow.runner")

#: the runs executing in this process -> the scope that stops one when a cancel is requested
_EXECUTING: dict[str, anyio.CancelScope] = {}


def cancel_local(run_id: str) -> bool:
    """Stop the run `run_id` now if this process executes it (it is recorded `cancelled`); False if not here.
    Elsewhere a cancel request reaches the executing process through its lease's heartbeat."""
    scope = _EXECUTING.get(run_id)
    if scope is None:
        return False
    scope.cancel()
    return True


async def notify(handler: EventHandler | None, event: Event) -> None:
    if handler is not None:
        result = handler(event)
        if inspect.isawaitable(result):
            await result


def run_config(run_id: str, max_steps: int | None) -> dict[str, Any]:
    """The LangGraph config of a run's thread (a recursion limit above anything the step budget allows)."""
    return {
        "configurable": {"thread_id": run_id},
        "recursion_limit": 10_000 if max_steps is None else 4 * max_steps + 50,
    }


async def execute(
    compiled: Any,
    graph_input: Any,
    svc: RunServices,
    storage: Storage,
    lease: Lease,
    *,
    pins: Mapping[str, Any] | None = None,
    sandboxes: list[dict[str, Any]] | None = None,
) -> RunResult:
    """Run the claimed run to its end (or pause) and record the result; see the module docstring. The graph's
    tool sources are connected for the run first (checked against `pins` when the run recorded some);
    `sandboxes` (from `check_sandboxes`) are recorded, and the run's sandbox containers go when it stops."""
    if sandboxes:
        await svc.record(SandboxReady(run_id=svc.run_id, policies=sandboxes))
    try:
        return await _execute(compiled, graph_input, svc, storage, lease, pins)
    finally:
        release_redactions(svc.run_id)  # (its sensitive values are in no record: forget them here too)
        if sandboxes:
            await _release_sandboxes(svc.run_id)


async def check_sandboxes(compiled: Any) -> list[dict[str, Any]]:
    """Before a run of `compiled` is created or claimed: if its tools run code in Docker sandboxes, check the
    engine and image now (`SandboxUnavailableError` naming what to install and start, before any model
    call) and start warming containers. Returns the policies in force, as plain data (empty: none)."""
    from agentflow.sandbox.discovery import sandbox_policies

    policies = sandbox_policies(compiled)
    if not policies:
        return []
    from agentflow.sandbox.registry import preflight

    return await preflight(policies)


async def _release_sandboxes(run_id: str) -> None:
    """The run's containers and work dir go whenever its execution here ends: finished, failed, cancelled, or
    paused for approval (a resumed run starts from fresh containers; its files are not kept across a pause)."""
    from agentflow.sandbox.registry import release_run

    try:
        await release_run(run_id)
    except Exception as exc:  # the run's result is recorded; a leftover container is reaped later
        log.warning("could not remove the run's sandbox containers", run_id=run_id, error=str(exc))


async def _execute(
    compiled: Any,
    graph_input: Any,
    svc: RunServices,
    storage: Storage,
    lease: Lease,
    pins: Mapping[str, Any] | None,
) -> RunResult:
    sources, local_tools = graph_sources(compiled)
    tracker = svc.tracker
    config = run_config(svc.run_id, tracker.budget.max_steps)
    status, budget_name, error = RunStatus.SUCCEEDED, None, None
    lost: list[LeaseLostError] = []
    asked = anyio.CancelScope()  # a cancel requested (through the database, or in this process)
    _EXECUTING[svc.run_id] = asked
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_heartbeat, storage, lease, tg.cancel_scope, lost, asked)
            with asked, anyio.CancelScope() as wall:
                remaining = tracker.remaining_wall_s()
                if remaining is not None:
                    wall.deadline = anyio.current_time() + remaining
                try:
                    async with connect_sources(
                        sources, local_tools=local_tools, pins=pins, logger=svc.logger
                    ) as toolset:
                        svc.toolset = toolset
                        if toolset is not None:
                            connected = ToolSourcesConnected(
                                run_id=svc.run_id,
                                sources=toolset.describe(),
                                pins=dict(pins or toolset.pins()),
                            )
                            await svc.record(connected)
                        await compiled.ainvoke(graph_input, config, context=svc, durability="sync")
                except BudgetExhausted as exc:
                    status, budget_name = RunStatus.BUDGET_EXHAUSTED, exc.budget
                except LeaseLostError as exc:
                    lost.append(exc)
                except Exception as exc:
                    status, error = RunStatus.FAILED, _error_of(exc)
            if asked.cancelled_caught:
                svc.cancelled.set()
                status, budget_name, error = RunStatus.CANCELLED, None, None
            elif wall.cancelled_caught:
                svc.cancelled.set()
                status, budget_name, error = RunStatus.BUDGET_EXHAUSTED, "time", None
            tg.cancel_scope.cancel()  # stop the heartbeat
    except anyio.get_cancelled_exc_class():
        svc.cancelled.set()
        if not lost:
            with anyio.CancelScope(shield=True):
                await _finish(compiled, config, svc, storage, lease, RunStatus.CANCELLED, None, None)
        raise
    finally:
        _EXECUTING.pop(svc.run_id, None)
    if lost:
        svc.cancelled.set()
        raise lost[0]
    return await _finish(compiled, config, svc, storage, lease, status, budget_name, error)


async def _heartbeat(
    storage: Storage,
    lease: Lease,
    scope: anyio.CancelScope,
    lost: list[LeaseLostError],
    asked: anyio.CancelScope,
) -> None:
    """Renew the lease a few times per lease period; if another process took the run, stop the run here; if
    someone asked the run to stop (`Runner.cancel`, from any process), cancel it."""
    while True:
        await anyio.sleep(storage.lease_ttl_s / 3)
        try:
            lease = await storage.renew(lease)
        except LeaseLostError as exc:
            log.error("lost the run's lease; stopping it here", run_id=lease.run_id)
            lost.append(exc)
            scope.cancel()
            return
        if lease.cancel_requested:
            log.info("a cancel was requested; stopping the run", run_id=lease.run_id)
            asked.cancel()


async def _finish(
    compiled: Any,
    config: dict[str, Any],
    svc: RunServices,
    storage: Storage,
    lease: Lease,
    status: RunStatus,
    budget_name: str | None,
    error: dict[str, str] | None,
) -> RunResult:
    values: dict[str, Any] = {}
    pending: list[approval.PendingCall] = []
    try:
        snapshot = await compiled.aget_state(config)
        values = dict(snapshot.values or {})
        pending = approval.pending_calls(snapshot)
        if status is not RunStatus.SUCCEEDED:
            values["partial"] = _with_finished_tasks(values.get("partial"), snapshot)
    except Exception as exc:  # the result must still be recorded
        log.warning("could not read final state", run_id=svc.run_id, error=str(exc))
    if status is RunStatus.SUCCEEDED and pending:
        status = RunStatus.AWAITING_APPROVAL
    output = values.get("output") if status is RunStatus.SUCCEEDED else None
    if status is RunStatus.SUCCEEDED and "output" not in values:
        status, error = (
            RunStatus.FAILED,
            {"type": "GraphError", "message": "the graph ended without an 'output'"},
        )
    if error is not None:
        await svc.record(RunErrored(run_id=svc.run_id, error_type=error["type"], message=error["message"]))
    usage = svc.usage()
    pending = pending if status is RunStatus.AWAITING_APPROVAL else []
    red = svc.redactor
    values, error = red.scrub(values), red.scrub(error)
    output = red.scrub(output)
    pending = [approval.PendingCall.from_json(red.scrub(p.to_json())) for p in pending]
    result = RunResult(
        run_id=svc.run_id,
        status=status,
        output=output,
        partial=values.get("partial"),
        usage=usage,
        budget=budget_name,
        error=error,
        pending=pending,
    )
    final = RunFinished(
        run_id=svc.run_id, status=status, output=output, usage=usage, budget=budget_name, error=error
    )
    await storage.finish_run(
        lease,
        status=status,
        output=output,
        partial=result.partial,
        usage=usage,
        budget_exhausted=budget_name,
        error=error,
        pending=pending,
        events=[final],
    )
    await notify(svc.on_event, final)  # listeners see the final event once it is durable
    return result


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


def _error_of(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, AgentflowError):
        return {"type": type(exc).__name__, "message": str(exc)}
    return {"type": type(exc).__name__, "message": str(exc) or repr(exc)}
