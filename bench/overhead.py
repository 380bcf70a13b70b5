"""Per-step overhead of agentflow's ReAct graph against a hand-written LangGraph loop.

Both use an instant model (a fixed decision), an instant tool and LangGraph's async SQLite checkpointer on a
file; agentflow also validates arguments, enforces budgets and writes its trace. Prints ms/step for both and
their ratio (goal: <= 1.3).

    scripts/env.sh && .venv/bin/python bench/overhead.py [--steps 40] [--runs 8]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

import agentflow
from agentflow.testing import FunctionModel

# agentflow runs with durability="sync" (each checkpoint on disk before the next step: crash safety); the
# baseline uses the same unless --durability says otherwise
DURABILITY = "sync"


def add(a: int, b: int) -> int:
    return a + b


def make_model(steps: int) -> FunctionModel:
    def decide(request: agentflow.ModelRequest) -> dict[str, Any]:
        turns = sum(1 for m in request.messages if m["role"] == "assistant")
        if turns >= steps - 1:
            return {"reasoning": "done", "final_answer": "ok"}
        return {"reasoning": "add", "tool_calls": [{"name": "add", "arguments": {"a": turns, "b": 1}}]}

    return FunctionModel(decide)


class RawState(TypedDict, total=False):
    input: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    output: str


def raw_graph(steps: int) -> StateGraph:
    async def model(state: RawState) -> dict[str, Any]:
        turns = sum(1 for m in state.get("messages", []) if m["role"] == "assistant")
        if turns >= steps - 1:
            return {"messages": [{"role": "assistant", "content": "done"}], "output": "ok"}
        call = {"name": "add", "arguments": {"a": turns, "b": 1}, "id": f"c{turns}"}
        return {"messages": [{"role": "assistant", "content": "add", "tool_calls": [call]}]}

    async def tools(state: RawState) -> dict[str, Any]:
        call = state["messages"][-1]["tool_calls"][0]
        return {
            "messages": [
                {"role": "tool", "content": str(add(**call["arguments"])), "tool_call_id": call["id"]}
            ]
        }

    def route(state: RawState) -> str:
        return "tools" if state["messages"][-1].get("tool_calls") else END

    builder = StateGraph(RawState)
    builder.add_node("model", model)
    builder.add_node("tools", tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, {"tools": "tools", END: END})
    builder.add_edge("tools", "model")
    return builder


async def main(steps: int, runs: int) -> None:
    raw, ours = [], []
    tool = agentflow.tool(read_only=True)(add)
    graph = agentflow.react_graph([tool])
    model = make_model(steps)
    budget = agentflow.Budget(max_steps=steps + 1)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            AsyncSqliteSaver.from_conn_string(str(Path(tmp) / "raw.db")) as saver,
            agentflow.Runner(Path(tmp) / "agentflow.db") as runner,
        ):
            raw_compiled = raw_graph(steps).compile(checkpointer=saver)
            # alternate the two so a busy machine slows both alike; round 0 warms up and is dropped
            for i in range(runs + 1):
                started = time.perf_counter()
                await raw_compiled.ainvoke(
                    {"input": "x"},
                    {"configurable": {"thread_id": f"raw{i}"}, "recursion_limit": 1000},
                    durability=DURABILITY,
                )
                raw_ms = (time.perf_counter() - started) / steps * 1000
                started = time.perf_counter()
                result = await runner.run(graph, "x", model=model, budget=budget)
                ours_ms = (time.perf_counter() - started) / steps * 1000
                assert result.ok, result
                if i:
                    raw.append(raw_ms)
                    ours.append(ours_ms)
    raw_ms, ours_ms = statistics.median(raw), statistics.median(ours)
    print(
        f"steps/run {steps}, runs {runs} (median ms per step, a step = model node + tool node); "
        f"raw loop durability={DURABILITY}, agentflow durability=sync"
    )
    print(f"raw langgraph loop : {raw_ms:7.3f} ms/step")
    print(f"agentflow react    : {ours_ms:7.3f} ms/step")
    print(f"ratio              : {ours_ms / raw_ms:7.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument(
        "--durability",
        choices=["sync", "async", "exit"],
        default="sync",
        help="the raw loop's LangGraph durability (agentflow always uses sync)",
    )
    args = parser.parse_args()
    DURABILITY = args.durability
    anyio.run(main, args.steps, args.runs)
