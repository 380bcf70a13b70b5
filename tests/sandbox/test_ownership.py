"""Ownership of sandbox containers: owner liveness, and reaping what a SIGKILLed process left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentflow.sandbox import SandboxPool
from agentflow.sandbox.ownership import LABEL_OWNER, owner_alive, owner_token, run_container_name

REPO = Path(__file__).resolve().parents[2]

# An agentflow run of the coder graph whose python_exec sleeps; a watcher thread SIGKILLs the process as soon
# as the sandbox runs the code, and prints the owner token first.
KILLED_RUN = r"""
import os, signal, sys, threading, time
import agentflow
from agentflow.sandbox import get_pool
from agentflow.sandbox.ownership import owner_token
from agentflow.testing import ScriptedModel

def watch():
    pool = get_pool()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for run_id in list(pool.runs()):
            for container_id in pool.containers(run_id):
                if len(pool.client.api.top(container_id)["Processes"]) >= 2:
                    print(owner_token(), flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)
    os._exit(3)

threading.Thread(target=watch, daemon=True).start()
model = ScriptedModel([
    {"reasoning": "", "tool_calls": [{"name": "python_exec", "arguments": {"code": "import time; time.sleep(25)"}}]},
    {"reasoning": "", "final_answer": "never"},
])
agentflow.run_sync("coder", "sleep", model=model, db=sys.argv[1])
os._exit(4)
"""


def test_owner_liveness() -> None:
    """This process is alive; an exited pid is dead; a reused pid (other start time) is dead; other hosts: unknown."""
    assert owner_alive(owner_token()) is True
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = socket.gethostname()
    assert owner_alive(f"{host}:{proc.pid}:123") is False
    assert owner_alive(f"{host}:{os.getpid()}:1") is False  # our pid, another process's start time
    assert owner_alive(f"elsewhere-{host}:{os.getpid()}:1") is None


def test_run_container_names_are_safe() -> None:
    """Run ids become Docker-legal container names."""
    assert run_container_name("abc123", 2) == "agentflow-sbx-abc123-2"
    assert run_container_name("a b/c:d", 1) == "agentflow-sbx-a-b-c-d-1"


def test_a_sigkilled_run_leaves_nothing_after_the_next_start(
    tmp_path: Path, docker_client: Any, sandbox_image: str
) -> None:
    """A process killed with SIGKILL mid-execution leaves its containers and volumes; the next pool to connect
    removes all of them (and nothing of live owners)."""
    env = {**os.environ, "AGENTFLOW_SANDBOX_WARM": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path / "runs.db")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    token = proc.stdout.strip()
    label = f"{LABEL_OWNER}={token}"
    left = docker_client.api.containers(all=True, filters={"label": label})
    assert left, "the killed process's executing container should still be there before the reap"
    SandboxPool(warm=0, client=docker_client).client  # the next start: connecting reaps  # noqa: B018
    assert docker_client.api.containers(all=True, filters={"label": label}) == []
    assert docker_client.api.volumes(filters={"label": label})["Volumes"] in (None, [])
