"""Concurrent runs on one local model: N demo runs through one `Runner`, one after another and all at once.

Decisions on one in-process model run one at a time on its decoding worker (queued in order), with the torch
thread count the model chose (one thread for a small model like the demo). So N concurrent runs should take
about as long as the same N runs in sequence (goal: <= 1.2x). `--threads N` forces a thread count, to show what
torch's default would cost; the thread count each decision ran with is printed.

    .venv/bin/python bench/demo_concurrency.py [--runs 20] [--threads N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio

import agentflow
from agentflow.toolkit import DEFAULT_TOOLS

REQUESTS = [
    "What is 17 * 23 + 4?",
    "Convert 12 km to miles.",
    "What time is it?",
    "What is 144 / 12?",
    "Convert 5 kg to pounds.",
    "What is 3 + 4 * 5?",
    "Convert 100 fahrenheit to celsius.",
    "What is 81 - 19?",
    "Write a note: buy milk",
    "What is 2 * 2 * 2?",
]


async def batch(runner: agentflow.Runner, graph: object, model: str, n: int, concurrent: bool) -> float:
    started = time.perf_counter()
    if concurrent:
        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(lambda i=i: runner.run(graph, REQUESTS[i % len(REQUESTS)], model=model, seed=i))
    else:
        for i in range(n):
            await runner.run(graph, REQUESTS[i % len(REQUESTS)], model=model, seed=i)
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    from agentflow.models.spec import load_model

    spec = f"demo?threads={args.threads}" if args.threads else "demo"
    model = load_model(spec)
    graph = agentflow.react_graph(DEFAULT_TOOLS)
    with tempfile.TemporaryDirectory() as tmp:
        async with agentflow.Runner(Path(tmp) / "runs.db") as runner:
            await batch(runner, graph, spec, 2, concurrent=False)  # load the model, compile the grammars
            seq, conc = [], []
            for _ in range(args.repeat):
                seq.append(await batch(runner, graph, spec, args.runs, concurrent=False))
                conc.append(await batch(runner, graph, spec, args.runs, concurrent=True))
    threads = getattr(model, "last_threads", None)
    s, c = statistics.median(seq), statistics.median(conc)
    print(f"model {spec}: torch threads during decisions = {threads}")
    print(f"{args.runs} runs one after another: median {s:.2f} s  ({', '.join(f'{x:.2f}' for x in seq)})")
    print(f"{args.runs} runs at once:           median {c:.2f} s  ({', '.join(f'{x:.2f}' for x in conc)})")
    print(f"concurrent / sequential: {c / s:.2f}  (goal <= 1.2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--threads", type=int, default=None, help="force torch threads (default: the model's)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    anyio.run(main, parser.parse_args())
