"""Running a sub-agent (a compiled graph over `AgentState`) inside a node of a larger graph.

The sub-agent is a LangGraph subgraph of the node that calls it: it shares the run's services (one budget,
one trace, one journal), its checkpoints live under the node's task (so after a pause or a crash it resumes
where it stopped, and a finished tool call is never run again), and an approval pause inside it pauses the
whole run. Its conversation stays its own: the caller passes only the input and reads only the result.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from langgraph.errors import GraphBubbleUp

from agentflow.events import SubagentFinished, SubagentStarted
from agentflow.exceptions import BudgetExhausted
from agentflow.runtime.services import agent_scope, services

__all__ = ["SubagentResult", "run_subagent"]


@dataclass(frozen=True, slots=True)
class SubagentResult:
    """`ok` with `output` (its final answer), or not with `error` (type: message); `state` is its final state."""

    ok: bool
    output: Any = None
    error: str | None = None
    state: dict[str, Any] | None = None


async def run_subagent(
    graph: Any, input: Any, *, agent: str, extra: dict[str, Any] | None = None
) -> SubagentResult:
    """Run compiled `graph` on `input` as agent `agent` (the name its events carry).

    Budget stops, pauses for approval and cancellation propagate (they concern the whole run); any other
    failure of the sub-agent (a model error, a graph that ended without an answer) is returned, not raised,
    so the caller can react to it (re-plan, route elsewhere)."""
    svc = services()
    scope = f"{agent}@{uuid.uuid4().hex[:12]}"
    task = input if isinstance(input, str) else json.dumps(input, ensure_ascii=False, default=str)
    opened = SubagentStarted(run_id=svc.run_id, agent=agent, scope=scope, task=task)
    await svc.record(opened)
    started = time.perf_counter()

    async def finished(ok: bool, error: str | None = None) -> None:
        duration = time.perf_counter() - started
        event = SubagentFinished(
            run_id=svc.run_id, agent=agent, scope=scope, ok=ok, error=error, ts=opened.ts, duration_s=duration
        )
        await svc.record(event)

    with agent_scope(agent, scope):
        try:
            state = await graph.ainvoke({"input": input, **(extra or {})})
        except (GraphBubbleUp, BudgetExhausted):
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await finished(False, error)
            return SubagentResult(ok=False, error=error)
    if "output" not in state:
        await finished(False, "the agent ended without an answer")
        return SubagentResult(ok=False, error="the agent ended without an answer", state=state)
    await finished(True)
    return SubagentResult(ok=True, output=state["output"], state=state)
