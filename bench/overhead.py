"""Per-step overhead of agentflow's ReAct graph against a hand-written LangGraph loop, one run at a time.

Both use an instant model (a fixed decision) and an instant tool, with durability "sync" (each checkpoint on
disk before the next step). The hand-written loop runs twice: on LangGraph's `AsyncSqliteSaver`, and on
agentflow's own checkpointer (the same saver agentflow uses: what is left is agentflow's own work —
validation, budgets, journal, trace). For each it prints wall ms per step, CPU ms per step, SQLite round trips
per step (hops to the thread that owns the connection) and bytes written per step (the database and WAL after
a checkpoint), and agentflow's ratio to the loop on the same saver (goal: <= 1.2).

    .venv/bin/python bench/overhead.py [--steps 40] [--runs 8]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import aiosqlite
import anyio
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

import agentflow
from agentflow.store import open_storage
from agentflow.testing import FunctionModel


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


class HopCounter:
    """Counts hops to aiosqlite's connection thread: every public call that runs on it."""

    count = 0

    def __enter__(self) -> HopCounter:
        self._saved = {}
        for name in ("execute", "executemany", "executescript", "commit", "rollback"):
            original = getattr(aiosqlite.Connection, name)
            self._saved[name] = original

            def counted(conn: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                HopCounter.count += 1
                return _original(conn, *args, **kwargs)

            setattr(aiosqlite.Connection, name, counted)
        return self

    def __exit__(self, *exc: Any) -> None:
        for name, original in self._saved.items():
            setattr(aiosqlite.Connection, name, original)


def size(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def sample(run: Callable[[], Awaitable[Any]], steps: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await run()
    return (time.perf_counter() - wall) / steps * 1000, (time.process_time() - cpu) / steps * 1000


async def main(steps: int, runs: int) -> None:
    tool = agentflow.tool(read_only=True)(add)
    graph = agentflow.react_graph([tool])
    model = make_model(steps)
    budget = agentflow.Budget(max_steps=steps + 1)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        raw_db, same_db, ours_db = tmp_path / "raw.db", tmp_path / "same.db", tmp_path / "agentflow.db"
        async with (
            AsyncSqliteSaver.from_conn_string(str(raw_db)) as saver,
            open_storage(same_db) as same_storage,
            agentflow.Runner(ours_db) as runner,
        ):
            raw_compiled = raw_graph(steps).compile(checkpointer=saver)
            same_compiled = raw_graph(steps).compile(checkpointer=same_storage.checkpointer)
            systems: dict[str, Callable[[int], Awaitable[Any]]] = {
                "raw loop + AsyncSqliteSaver": lambda i: raw_compiled.ainvoke(
                    {"input": "x"},
                    {"configurable": {"thread_id": f"r{i}"}, "recursion_limit": 1000},
                    durability="sync",
                ),
                "raw loop + agentflow saver": lambda i: same_compiled.ainvoke(
                    {"input": "x"},
                    {"configurable": {"thread_id": f"s{i}"}, "recursion_limit": 1000},
                    durability="sync",
                ),
                "agentflow react": lambda i: runner.run(graph, "x", model=model, budget=budget),
            }
            storages = {"raw loop + agentflow saver": same_storage, "agentflow react": runner.storage}
            paths = {
                "raw loop + AsyncSqliteSaver": raw_db,
                "raw loop + agentflow saver": same_db,
                "agentflow react": ours_db,
            }
            for name in systems:
                results[name] = {"wall": [], "cpu": [], "hops": 0, "bytes": 0}
            # alternate the systems so a busy machine slows all alike; round 0 warms up and is dropped
            for i in range(runs + 1):
                for name, run in systems.items():
                    before_bytes = size(paths[name])
                    storage = storages.get(name)
                    before_requests = storage.writer.stats.requests if storage is not None else 0
                    HopCounter.count = 0
                    with HopCounter():
                        wall, cpu = await sample(lambda run=run, i=i: run(i), steps)
                    if not i:
                        continue
                    hops = (
                        HopCounter.count
                        if storage is None
                        else storage.writer.stats.requests - before_requests
                    )
                    results[name]["wall"].append(wall)
                    results[name]["cpu"].append(cpu)
                    results[name]["hops"] += hops
                    results[name]["bytes"] += size(paths[name]) - before_bytes
    print(
        f"steps/run {steps}, runs {runs}; medians per step (a step = model node + tool node), durability=sync"
    )
    print(f"{'system':<30} {'wall ms':>8} {'cpu ms':>8} {'trips':>6} {'bytes':>8}")
    for name, row in results.items():
        total = steps * runs
        print(
            f"{name:<30} {statistics.median(row['wall']):>8.3f} {statistics.median(row['cpu']):>8.3f} "
            f"{row['hops'] / total:>6.1f} {row['bytes'] / total:>8.0f}"
        )
    ours = statistics.median(results["agentflow react"]["wall"])
    same = statistics.median(results["raw loop + agentflow saver"]["wall"])
    raw = statistics.median(results["raw loop + AsyncSqliteSaver"]["wall"])
    print(f"agentflow / raw loop on the same saver : {ours / same:.3f}  (goal <= 1.2)")
    print(f"agentflow / raw loop on AsyncSqliteSaver: {ours / raw:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    anyio.run(main, args.steps, args.runs)
