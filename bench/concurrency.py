"""Throughput of many concurrent runs in one process: agentflow (durable, tracing on) against the same graph
shape in raw LangGraph with no checkpointer (the ceiling) and with LangGraph's `AsyncSqliteSaver`; with
`--pg URL` also agentflow on PostgreSQL and raw LangGraph with `AsyncPostgresSaver`; with `--workers URL`
the throughput of 1, 2 and 4 `agentflow worker` processes sharing one PostgreSQL database's queue.

Each run makes 3 model decisions (a model of fixed 50 ms latency: 2 tool calls, then an answer) and 2 calls of
an instant tool. For N = 10, 100, 1000 concurrent runs it prints runs/s, p50 / p95 run latency, peak memory
per run (tracemalloc, measured on a separate pass) and lock errors, and agentflow's throughput as a fraction of the ceiling (goal at
N = 1000: >= 0.5).

    .venv/bin/python bench/concurrency.py [--n 10 100 1000] [--latency 0.05] [--pg URL] [--workers URL]

(URL: a PostgreSQL server's maintenance database, e.g. `eval "$(scripts/postgres.sh start)"` then
$AGENTFLOW_TEST_PG_URL; each measurement gets a fresh database on it, dropped afterwards.)
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


def fresh_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    from urllib.parse import urlsplit

    return urlsplit(server)._replace(path=f"/{name}").geturl()


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def pg_rows(n: int, server: str, latency: float) -> dict[str, dict[str, float]]:
    """Raw LangGraph with AsyncPostgresSaver, and agentflow on PostgreSQL, N concurrent runs."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    rows: dict[str, dict[str, float]] = {}
    url = fresh_database(server, "bench_raw")
    try:
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            raw_saved = raw_graph(latency).compile(checkpointer=saver)

            async def saved(i: int) -> None:
                await raw_saved.ainvoke(
                    {"input": "x"}, {"configurable": {"thread_id": f"s{i}"}}, durability="sync"
                )

            rows["raw langgraph + AsyncPostgres"] = await measure(n, saved)
    finally:
        drop_database(server, "bench_raw")
    url = fresh_database(server, "bench_agentflow")
    try:
        tool = agentflow.tool(read_only=True)(add)
        graph = agentflow.react_graph([tool])
        model = make_model(latency)
        budget = agentflow.Budget(max_steps=DECISIONS + 1)
        async with agentflow.Runner(url) as runner:

            async def ours(i: int) -> None:
                result = await runner.run(graph, "x", model=model, budget=budget)
                assert result.ok, result

            rows["agentflow on PostgreSQL"] = await measure(n, ours)
    finally:
        drop_database(server, "bench_agentflow")
    return rows


WORKER_GRAPH = """
import anyio, agentflow

@agentflow.tool(read_only=True)
async def add(a: int, b: int) -> int:
    \"\"\"Add (a service call of fixed latency).\"\"\"
    await anyio.sleep(LATENCY)
    return a + b

def make_graph():
    return agentflow.react_graph([add])
"""


def bench_workers(server: str, runs: int, latency: float, concurrency: int) -> None:
    """`runs` runs (each: 2 tool calls of fixed latency, scripted decisions) enqueued to 1, 2 and 4 started
    worker processes (each `--concurrency C`) on one database: runs/s from the first enqueue to the last end."""
    import json
    import os
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "bench_graph.py"
        graph.write_text(WORKER_GRAPH.replace("LATENCY", repr(latency)))
        script = Path(tmp) / "script.json"
        calls = [
            {"reasoning": "add", "tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]}
            for i in range(2)
        ]
        script.write_text(json.dumps([*calls, {"reasoning": "done", "final_answer": "ok"}]))
        print(
            f"\nworkers: {runs} queued runs, 2 tool calls of {latency * 1000:.0f} ms each, --concurrency {concurrency}"
        )
        baseline = None
        for count in (1, 2, 4):
            url = fresh_database(server, "bench_workers")
            try:

                async def enqueue(url: str = url) -> None:
                    async with agentflow.Runner(url) as runner:
                        for _ in range(runs):
                            await runner.enqueue(str(graph), "x", model=f"scripted:{script}")

                env = {**os.environ, "AGENTFLOW_DB": url}
                procs = [
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "agentflow",
                            "worker",
                            "-q",
                            "--concurrency",
                            str(concurrency),
                            "--poll",
                            "0.05",
                        ],
                        env=env,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    for _ in range(count)
                ]
                for proc in procs:  # each worker is started (imports done) and polling the queue
                    assert proc.stderr is not None
                    for line in proc.stderr:
                        if "executing queued runs" in line:
                            break
                started = time.perf_counter()
                anyio.run(enqueue)

                async def wait_done(url: str = url) -> float:
                    async with agentflow.Runner(url) as runner:
                        while True:
                            records = await runner.storage.list_runs(limit=runs + 10)
                            if all(r.status is agentflow.RunStatus.SUCCEEDED for r in records):
                                return time.perf_counter()
                            await anyio.sleep(0.05)

                ended = anyio.run(wait_done)
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=60)
            finally:
                drop_database(server, "bench_workers")
            rate = runs / (ended - started)
            baseline = baseline or rate
            print(
                f"{count} worker(s): {rate:7.1f} runs/s  ({rate / baseline:.2f}x one worker; from the first enqueue, workers started)"
            )


async def main(sizes: list[int], latency: float, pg: str | None = None) -> None:
    tool = agentflow.tool(read_only=True)(add)
    graph = agentflow.react_graph([tool])
    model = make_model(latency)
    budget = agentflow.Budget(max_steps=DECISIONS + 1)
    raw_plain = raw_graph(latency).compile()
    print(f"{DECISIONS} decisions per run, model latency {latency * 1000:.0f} ms, instant tool")
    print(f"{'N':>5} {'system':<30} {'runs/s':>8} {'p50 s':>7} {'p95 s':>7} {'KiB/run':>8} {'lock err':>8}")
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
            if pg:
                rows.update(await pg_rows(n, pg, latency))
            for name, row in rows.items():
                print(
                    f"{n:>5} {name:<30} {row['runs_s']:>8.1f} {row['p50']:>7.3f} {row['p95']:>7.3f} "
                    f"{row['kib_per_run']:>8.1f} {int(row['lock_errors']):>8}"
                )
            ceiling = rows["raw langgraph, no persistence"]["runs_s"]
            print(
                f"{n:>5} agentflow / ceiling = {rows['agentflow (durable, traced)']['runs_s'] / ceiling:.2f}"
            )
            if pg:
                print(
                    f"{n:>5} agentflow on PostgreSQL / ceiling = {rows['agentflow on PostgreSQL']['runs_s'] / ceiling:.2f}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--pg", metavar="URL", help="also measure on this PostgreSQL server")
    parser.add_argument("--workers", metavar="URL", help="only measure 1/2/4 worker processes on this server")
    parser.add_argument("--runs", type=int, default=200, help="queued runs for --workers")
    parser.add_argument("--concurrency", type=int, default=8, help="runs per worker for --workers")
    args = parser.parse_args()
    if args.workers:
        bench_workers(args.workers, args.runs, args.latency, args.concurrency)
    else:
        anyio.run(main, args.n, args.latency, args.pg)
