"""Which process executes a run: an owner tag `host:pid:start-time`, and whether that process still lives.

A run being executed carries its owner's tag. Another process may take the run over (resume it) only when
the owner is gone: a crashed or killed process leaves its tag behind, and the start time guards against a
recycled pid.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentflow.store.base import RunRecord

__all__ = ["lease_live", "owner_alive", "process_owner"]


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


@cache
def process_owner() -> str:
    """This process's owner tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process tagged `owner` is still running (an owner on another host counts as alive)."""
    if not owner:
        return False
    try:
        host, pid_text, started = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started == "?" or _start_time(pid) == started


def lease_live(record: RunRecord, now: float) -> bool:
    """Whether someone holds the run now: a running run whose lease has not expired (at `now`, in the
    database's clock) and whose owner, when it is a process on this machine, is still alive (a killed
    process's lease ends with it)."""
    if record.status != "running" or not record.owner:
        return False
    if record.lease_expires is not None and record.lease_expires <= now:
        return False
    return owner_alive(record.owner)
