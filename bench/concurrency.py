"""Throughput of many concurrent runs in one process: agentflow (durable, tracing on) against the same graph
shape in raw LangGraph with no checkpointer (the ceiling) and with LangGraph's `AsyncSqliteSaver`.

Each run makes 3 model decisions (a model of fixed 50 ms latency: 2 tool calls, then an answer) and 2 calls of
an instant tool. For N = 10, 100, 1000 concurrent runs it prints runs/s, p50 / p95 run latency, peak memory
per run (tracemalloc, measured on a separate pass) and lock errors, and agentflow's throughput as a fraction of the ceiling (goal at
N = 1000: >= 0.5).

    .venv/bin/python bench/concurrency.py [--n 10 100 1000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

import agentflow
from agentflow.testing import FunctionModel

DECISIONS = 3


def add(a: int, b: int) -> int:
    return a + b


def make_model(latency: float) -> FunctionModel:
    async def decide(request: agentflow.ModelRequest) -> dict[str, Any]:
        await anyio.sleep(latency)
        turns = sum(1 for m in request.messages if m["role"] == "assistant")
        if turns >= DECISIONS - 1:
            return {"reasoning": "done", "final_answer": "ok"}
        return {"reasoning": "add", "tool_calls": [{"name": "add", "arguments": {"a": turns, "b": 1}}]}

    return FunctionModel(decide)


class RawState(TypedDict, total=False):
    input: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    output: str


def raw_graph(latency: float) -> StateGraph:
    async def model(state: RawState) -> dict[str, Any]:
        await anyio.sleep(latency)
        turns = sum(1 for m in state.get("messages", []) if m["role"] == "assistant")
        if turns >= DECISIONS - 1:
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


async def measure(n: int, one: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    """Throughput and latency of `n` concurrent runs, then (separately: tracing allocations slows Python
    several-fold) peak traced memory per run over min(n, 100) runs."""
    row = await _timed(n, one, trace_memory=False)
    memory = await _timed(min(n, 100), lambda i: one(n + i), trace_memory=True)
    return {**row, "kib_per_run": memory["kib_per_run"]}


async def _timed(n: int, one: Callable[[int], Awaitable[None]], *, trace_memory: bool) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0

    async def timed(i: int) -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            await one(i)
        except Exception as exc:
            if "locked" in str(exc):
                errors += 1
            raise
        latencies.append(time.perf_counter() - started)

    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(timed, i)
    elapsed = time.perf_counter() - started
    peak = 0
    if trace_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    latencies.sort()
    return {
        "runs_s": n / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (n - 1))],
        "kib_per_run": peak / n / 1024,
        "lock_errors": errors,
    }


async def main(sizes: list[int], latency: float) -> None:
    tool = agentflow.tool(read_only=True)(add)
    graph = agentflow.react_graph([tool])
    model = make_model(latency)
    budget = agentflow.Budget(max_steps=DECISIONS + 1)
    raw_plain = raw_graph(latency).compile()
    print(f"{DECISIONS} decisions per run, model latency {latency * 1000:.0f} ms, instant tool")
    print(f"{'N':>5} {'system':<28} {'runs/s':>8} {'p50 s':>7} {'p95 s':>7} {'KiB/run':>8} {'lock err':>8}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            rows: dict[str, dict[str, float]] = {}

            async def plain(i: int) -> None:
                await raw_plain.ainvoke({"input": "x"}, {"configurable": {"thread_id": f"p{i}"}})

            rows["raw langgraph, no persistence"] = await measure(n, plain)
            async with AsyncSqliteSaver.from_conn_string(str(Path(tmp) / "raw.db")) as saver:
                raw_saved = raw_graph(latency).compile(checkpointer=saver)

                async def saved(i: int, raw_saved: Any = raw_saved) -> None:
                    await raw_saved.ainvoke(
                        {"input": "x"}, {"configurable": {"thread_id": f"s{i}"}}, durability="sync"
                    )

                rows["raw langgraph + AsyncSqlite"] = await measure(n, saved)
            async with agentflow.Runner(Path(tmp) / "agentflow.db") as runner:

                async def ours(i: int) -> None:
                    result = await runner.run(graph, "x", model=model, budget=budget)
                    assert result.ok, result

                rows["agentflow (durable, traced)"] = await measure(n, ours)
            for name, row in rows.items():
                print(
                    f"{n:>5} {name:<28} {row['runs_s']:>8.1f} {row['p50']:>7.3f} {row['p95']:>7.3f} "
                    f"{row['kib_per_run']:>8.1f} {int(row['lock_errors']):>8}"
                )
            ceiling = rows["raw langgraph, no persistence"]["runs_s"]
            print(
                f"{n:>5} agentflow / ceiling = {rows['agentflow (durable, traced)']['runs_s'] / ceiling:.2f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    anyio.run(main, args.n, args.latency)
