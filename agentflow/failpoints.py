"""Crash-test hooks. `failpoint(name)` kills this process with SIGKILL at a named point of a run when the
environment variable `AGENTFLOW_FAILPOINT` equals the name, so the crash tests (tests/cli/test_crash.py) can
stop a real process exactly between two writes. Otherwise it costs one environment lookup.

    after_decision   a model decision was traced (queued), before any of its tool calls starts
    after_tool       a tool call finished and its outcome was journaled, before the step's checkpoint
"""

from __future__ import annotations

import os
import signal

__all__ = ["failpoint"]


def failpoint(name: str) -> None:
    if os.environ.get("AGENTFLOW_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
