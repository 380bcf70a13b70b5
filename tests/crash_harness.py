"""The crash-test harness: a graph with side-effect counting tools (files), a FIFO gate to hold a process
inside a tool, and the CLI run as real subprocesses (tests/cli/test_crash*.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

GRAPH = '''
import os
import agentflow

def _count(name):
    with open(os.path.join(os.environ["AF_COUNT_DIR"], name), "a") as f:
        f.write("x\\n")

def _maybe_block(name, value=None):
    if os.environ.get("AF_TOOL_SECONDS"):  # a tool that takes a while (the random-instant kills need one)
        import time
        time.sleep(float(os.environ["AF_TOOL_SECONDS"]))
    if os.environ.get("AF_BLOCK_IN") == name and os.environ.get("AF_BLOCK_AT", str(value)) == str(value):
        with open(os.environ["AF_GATE"]) as gate:
            gate.read()

@agentflow.tool(timeout_s=None)
def pay(amount: int) -> str:
    """Pay (a side effect; not idempotent)."""
    _count("pay")
    _maybe_block("pay")
    return f"paid {amount}"

@agentflow.tool(timeout_s=None, idempotent=True)
def sync(value: int) -> str:
    """Sync (idempotent)."""
    _count("sync")
    _maybe_block("sync", value)
    return f"synced {value}"

@agentflow.tool(timeout_s=None, approval="always")
def deploy(version: str) -> str:
    """Deploy (needs approval)."""
    _count("deploy")
    _maybe_block("deploy")
    return f"deployed {version}"

def make_graph():
    return agentflow.react_graph([pay, sync, deploy])
'''


class Harness:
    """`db`: the database the CLI uses (a PostgreSQL URL), default a SQLite file in `tmp`."""

    def __init__(self, tmp: Path, db: str | None = None) -> None:
        self.tmp = tmp
        self.graph = tmp / "crash_graph.py"
        self.graph.write_text(GRAPH)
        self.counts = tmp / "counts"
        self.counts.mkdir()
        self.gate = tmp / "gate"
        os.mkfifo(self.gate)
        self.db = tmp / "runs.db"
        self.db_url = db or str(self.db)

    def has_db(self) -> bool:
        """Whether the database exists yet (a PostgreSQL database always does)."""
        return self.db_url != str(self.db) or self.db.exists()

    def env(self, block: str | None = None, failpoint: str | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "AGENTFLOW_DB": self.db_url,
            "AF_COUNT_DIR": str(self.counts),
            "AF_GATE": str(self.gate),
        }
        env.pop("AF_BLOCK_IN", None)
        env.pop("AGENTFLOW_FAILPOINT", None)
        if block:
            env["AF_BLOCK_IN"] = block
        if failpoint:
            env["AGENTFLOW_FAILPOINT"] = failpoint
        return env

    def script(self, *decisions: dict[str, Any]) -> str:
        path = self.tmp / f"script{len(list(self.tmp.glob('script*')))}.json"
        path.write_text(json.dumps(list(decisions)))
        return f"scripted:{path}"

    def count(self, name: str) -> int:
        path = self.counts / name
        return len(path.read_text().splitlines()) if path.exists() else 0

    def start(
        self,
        *args: str,
        block: str | None = None,
        block_at: int | None = None,
        tool_seconds: float | None = None,
    ) -> subprocess.Popen[str]:
        env = self.env(block)
        if block_at is not None:
            env["AF_BLOCK_AT"] = str(block_at)
        if tool_seconds is not None:
            env["AF_TOOL_SECONDS"] = str(tool_seconds)
        return subprocess.Popen(
            [sys.executable, "-m", "agentflow", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def cli(self, *args: str, failpoint: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentflow", *args],
            capture_output=True,
            text=True,
            env=self.env(failpoint=failpoint),
            timeout=120,
        )

    def kill_inside_tool(self, proc: subprocess.Popen[str]) -> None:
        """Wait until the process is blocked inside the tool (it opened the gate), then SIGKILL it."""
        with open(self.gate, "w"):
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL

    def start_at_gate(self, gate: str, *args: str) -> subprocess.Popen[str]:
        """Start the CLI so that it stops at `agentflow.failpoints.gate(gate)` until `release` is called."""
        fifo = self.tmp / "race"
        if not fifo.exists():
            os.mkfifo(fifo)
        env = {**self.env(), "AGENTFLOW_GATE": gate, "AGENTFLOW_GATE_PATH": str(fifo)}
        return subprocess.Popen(
            [sys.executable, "-m", "agentflow", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def release(self, procs: list[subprocess.Popen[str]]) -> None:
        """Once every process in `procs` waits at the gate (each left an arrival mark), release them together."""
        import time

        deadline = time.monotonic() + 120
        marks = [self.tmp / f"race.{p.pid}" for p in procs]
        while not all(m.exists() for m in marks):
            assert all(p.poll() is None for p in procs), [
                p.communicate() for p in procs if p.poll() is not None
            ]
            assert time.monotonic() < deadline, "the processes never reached the gate"
            time.sleep(0.02)  # polling for a state (the marks), not waiting for time to pass
        with open(self.tmp / "race", "w") as fifo:
            fifo.write("go")

    def run_id(self) -> str:
        runs = json.loads(self.cli("runs", "list", "--json").stdout)
        return runs[0]["run_id"]

    def trace(self, run_id: str) -> list[dict[str, Any]]:
        return json.loads(self.cli("runs", "show", run_id, "--json").stdout)["events"]


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"reasoning": name, "tool_calls": [{"name": name, "arguments": arguments}]}


def final(answer: str) -> dict[str, Any]:
    return {"reasoning": "done", "final_answer": answer}
