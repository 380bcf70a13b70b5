"""Queued runs and workers: enqueue by reference, workers in real processes sharing the load on one database,
a SIGKILLed worker's run resumed by another without repeating a side effect, cancels reaching a worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from crash_harness import call, final

import agentflow
from agentflow.exceptions import GraphRefError
from agentflow.status import RunStatus

GRAPH = '''
import os, time
import agentflow

def _mark(name, value):
    with open(os.path.join(os.environ["AF_COUNT_DIR"], name), "a") as f:
        f.write(f"{value} {os.getpid()}\\n")

@agentflow.tool(timeout_s=None)
def pay(amount: int) -> str:
    """Pay (a side effect; not idempotent)."""
    _mark("pay", amount)
    gate = os.environ.get("AF_GATE")
    if gate and amount == 13:
        with open(gate) as f:  # held here until the test opens the gate
            f.read()
    time.sleep(float(os.environ.get("AF_TOOL_SECONDS", "0")))
    return f"paid {amount}"

def make_graph():
    return agentflow.react_graph([pay])
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    return str(tmp_path / "runs.db")


class Workers:
    """`agentflow worker` processes on one database; every one is stopped at the end of the test."""

    def __init__(self, tmp: Path, db: str) -> None:
        self.tmp, self.db = tmp, db
        self.graph = tmp / "work_graph.py"
        self.graph.write_text(GRAPH)
        self.counts = tmp / "counts"
        self.counts.mkdir(exist_ok=True)
        self.procs: list[subprocess.Popen[str]] = []

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "AGENTFLOW_DB": self.db, "AF_COUNT_DIR": str(self.counts), **extra}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentflow", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentflow", "worker", "--poll", "0.05", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(**env),
        )
        self.procs.append(proc)
        return proc

    def script(self, name: str, *decisions: dict[str, Any]) -> str:
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps(list(decisions)))
        return f"scripted:{path}"

    def marks(self) -> list[tuple[int, int]]:
        path = self.counts / "pay"
        if not path.exists():
            return []
        return [(int(a), int(p)) for a, p in (line.split() for line in path.read_text().splitlines())]

    def runs(self) -> list[dict[str, Any]]:
        return json.loads(self.cli("runs", "list", "--limit", "1000", "--json").stdout)

    def wait_until(self, done: Any, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert all(p.poll() is None for p in self.procs if p.returncode is None), what
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)  # polling a state (the database), not waiting for time to pass

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


@pytest.fixture
def workers(tmp_path: Path, db: str) -> Any:
    w = Workers(tmp_path, db)
    yield w
    w.stop()


def test_enqueue_refuses_a_graph_object(tmp_path: Path) -> None:
    """A worker loads the graph by reference, so enqueueing a graph object is a typed error naming what to pass."""

    async def main() -> None:
        async with agentflow.Runner(tmp_path / "q.db") as runner:
            with pytest.raises(GraphRefError, match="bundled graph name, a graph file"):
                await runner.enqueue(agentflow.react_graph([]), "x")  # type: ignore[arg-type]

    anyio.run(main)


def test_a_worker_runs_a_queued_run_by_module_path(db: str, tmp_path: Path) -> None:
    """A run enqueued as `package.module:factory` is executed by a worker in this process (Python API)."""
    script = tmp_path / "s.json"
    script.write_text(json.dumps([final("hello")]))

    async def main() -> None:
        async with agentflow.Runner(db) as runner:
            run_id = await runner.enqueue(
                "agentflow.graphs.react:make_graph", "hi", model=f"scripted:{script}"
            )
            assert (await runner.result_of(run_id)).status is RunStatus.QUEUED
            executed = await agentflow.Worker(runner, max_runs=1).run()
            result = await runner.result_of(run_id)
            assert executed == 1 and result.status is RunStatus.SUCCEEDED and result.output == "hello"

    anyio.run(main)


def test_worker_processes_share_the_load(workers: Workers) -> None:
    """8 queued runs, 2 worker processes (concurrency 2 each): every run succeeds, both workers executed some,
    each payment happened exactly once."""
    for amount in range(8):
        model = workers.script(f"s{amount}", call("pay", amount=amount), final(f"paid {amount}"))
        queued = workers.cli(
            "run", str(workers.graph), "-i", f"pay {amount}", "--model", model, "--queue", "--json"
        )
        assert queued.returncode == 0, queued.stderr
        assert json.loads(queued.stdout)["status"] == "queued"
    for _ in range(2):
        workers.start("--concurrency", "2", AF_TOOL_SECONDS="0.3")
    workers.wait_until(
        lambda: sum(r["status"] == "succeeded" for r in workers.runs()) == 8, "8 runs to succeed"
    )
    marks = workers.marks()
    assert sorted(a for a, _ in marks) == list(range(8))
    assert len({pid for _, pid in marks}) == 2  # both workers took runs


def test_a_killed_workers_run_is_resumed_by_another(workers: Workers) -> None:
    """SIGKILL a worker inside a non-idempotent call: after its lease expires another worker resumes the run;
    the call is not repeated (the model is told its outcome is unknown) and the run finishes."""
    gate = workers.tmp / "gate"
    os.mkfifo(gate)
    model = workers.script("k", call("pay", amount=13), final("done"))
    queued = workers.cli("run", str(workers.graph), "-i", "pay 13", "--model", model, "--queue", "--json")
    run_id = json.loads(queued.stdout)["run_id"]
    first = workers.start("--lease-ttl", "1", AF_GATE=str(gate))
    with open(gate, "w"):  # the first worker is inside `pay` now
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    workers.start("--lease-ttl", "1")
    workers.wait_until(
        lambda: next(r for r in workers.runs() if r["run_id"] == run_id)["status"] == "succeeded",
        "the run to be resumed",
    )
    assert [a for a, _ in workers.marks()] == [13]
    events = json.loads(workers.cli("runs", "show", run_id, "--json").stdout)["events"]
    resumed = next(e for e in events if e["kind"] == "run_resumed")
    assert resumed["data"]["crashed"] is True
    observation = next(e["data"] for e in events if e["kind"] == "tool_called")
    assert observation["error_type"] == "unknown_outcome"


def test_cancel_reaches_a_run_in_a_worker(workers: Workers) -> None:
    """`agentflow cancel` from another process stops a run a worker is executing (at its next heartbeat): it
    ends `cancelled`, and the worker goes on with the next run."""
    model = workers.script("c", *[call("pay", amount=i) for i in range(1, 200)], final("never"))
    run_id = json.loads(
        workers.cli(
            "run",
            str(workers.graph),
            "-i",
            "pay a lot",
            "--model",
            model,
            "--queue",
            "--json",
            "--max-steps",
            "1000",
            "--max-tool-calls",
            "1000",
        ).stdout
    )["run_id"]
    workers.start("--lease-ttl", "1", AF_TOOL_SECONDS="0.2")
    workers.wait_until(lambda: len(workers.marks()) >= 1, "the run to start paying")
    cancelled = workers.cli("cancel", run_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    workers.wait_until(
        lambda: next(r for r in workers.runs() if r["run_id"] == run_id)["status"] == "cancelled",
        "the run to stop",
    )
    paid = len(workers.marks())
    assert paid < 199  # (stopped long before the end, however slow the machine)
    second = workers.script("n", final("next"))
    workers.cli("run", str(workers.graph), "-i", "next", "--model", second, "--queue")
    workers.wait_until(lambda: workers.runs()[0]["status"] == "succeeded", "the next run")
    assert len(workers.marks()) == paid  # the cancelled run made no more payments
