"""Crash-test hooks, for the crash-safety tests (tests/cli/test_crash*.py) to stop a real process exactly
between two writes, or to hold several processes at the same point and release them together. Each costs one
environment lookup when unused.

`failpoint(name)` kills this process with SIGKILL when `AGENTFLOW_FAILPOINT` equals `name`:

    after_run_record  the run record exists, before its first checkpoint
    after_decision    a model decision was traced (queued), before any of its tool calls starts
    after_tool        a tool call finished and its outcome was journaled, before the step's checkpoint

`gate(name)` blocks when `AGENTFLOW_GATE` equals `name`: it creates `$AGENTFLOW_GATE_PATH.<pid>` (so the test
knows the process arrived), then reads the FIFO `$AGENTFLOW_GATE_PATH` until a writer closes it:

    before_decide     `decide` has read the paused run and checked the decisions, before storing them
    before_claim      a resume (or the decision completing a pause) has read the run, before claiming it
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

__all__ = ["failpoint", "gate"]


def failpoint(name: str) -> None:
    if os.environ.get("AGENTFLOW_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def gate(name: str) -> None:
    if os.environ.get("AGENTFLOW_GATE") != name:
        return
    fifo = Path(os.environ["AGENTFLOW_GATE_PATH"])
    fifo.with_name(f"{fifo.name}.{os.getpid()}").touch()
    with fifo.open() as f:
        f.read()
