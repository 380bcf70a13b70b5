"""Running a sub-agent (a compiled graph over `AgentState`) inside a node of a larger graph.

The sub-agent is a LangGraph subgraph of the node that calls it: it shares the run's services (one budget,
one trace, one journal), its checkpoints live under the node's task (so after a pause or a crash it resumes
where it stopped, and a finished tool call is never run again), and an approval pause inside it pauses the
whole run. Its conversation stays its own: the caller passes only the input and reads only the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.errors import GraphBubbleUp

from agentflow.exceptions import BudgetExhausted
from agentflow.runtime.services import agent_scope

__all__ = ["SubagentResult", "run_subagent"]


@dataclass(frozen=True, slots=True)
class SubagentResult:
    """`ok` with `output` (its final answer), or not with `error` (type: message); `state` is its final state."""

    ok: bool
    output: Any = None
    error: str | None = None
    state: dict[str, Any] | None = None


async def run_subagent(graph: Any, input: Any, *, agent: str, extra: dict[str, Any] | None = None) -> SubagentResult:
    """Run compiled `graph` on `input` as agent `agent` (the name its events carry).

    Budget stops, pauses for approval and cancellation propagate (they concern the whole run); any other
    failure of the sub-agent (a model error, a graph that ended without an answer) is returned, not raised,
    so the caller can react to it (re-plan, route elsewhere)."""
    with agent_scope(agent):
        try:
            state = await graph.ainvoke({"input": input, **(extra or {})})
        except (GraphBubbleUp, BudgetExhausted):
            raise
        except Exception as exc:
            return SubagentResult(ok=False, error=f"{type(exc).__name__}: {exc}")
    if "output" not in state:
        return SubagentResult(ok=False, error="the agent ended without an answer", state=state)
    return SubagentResult(ok=True, output=state["output"], state=state)
