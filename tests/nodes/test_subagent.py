"""Sub-graphs share the run's services: one budget, one trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph

import agentflow
from agentflow import AgentState, Budget, react_graph
from agentflow.store import RunStore
from agentflow.testing import FunctionModel

from helpers import add, call, calls, final

pytestmark = pytest.mark.anyio


def _parent(inner_as_node: bool) -> StateGraph:
    inner = react_graph([add], role="worker").compile()
    builder = StateGraph(AgentState)
    if inner_as_node:
        builder.add_node("worker", inner)
    else:

        async def delegate(state: AgentState) -> dict[str, Any]:
            out = await inner.ainvoke({"input": state["input"]})
            return {"output": out.get("output"), "partial": out.get("partial")}

        builder.add_node("worker", delegate)
    builder.add_edge(START, "worker")
    builder.add_edge("worker", END)
    return builder


@pytest.mark.parametrize("inner_as_node", [True, False])
async def test_subgraph_draws_from_parent_budget(db_path: Path, inner_as_node: bool) -> None:
    """A looping sub-agent is stopped by the parent run's step budget, and its calls are in the run's trace."""
    looping = FunctionModel(lambda request: calls(call("add", a=1, b=2)))
    result = await agentflow.run(
        _parent(inner_as_node), "go", model=looping, db=db_path, budget=Budget(max_steps=3)
    )
    assert result.status == "budget_exhausted" and result.budget == "steps"
    events = RunStore(db_path).events(result.run_id)
    model_events = [e for e in events if e.kind == "model_called"]
    assert len(model_events) == 3 and {e.agent for e in model_events} == {"worker"}


async def test_subgraph_answer_reaches_parent(db_path: Path) -> None:
    """The sub-agent's final answer becomes the parent's output."""
    model = FunctionModel(
        lambda r: final("7") if r.messages[-1]["role"] == "tool" else calls(call("add", a=3, b=4))
    )
    result = await agentflow.run(_parent(True), "3+4", model=model, db=db_path)
    assert result.ok and result.output == "7" and result.usage["steps"] == 2
