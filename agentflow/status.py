"""`RunStatus`: where a run stands, and the CLI exit code each final status maps to."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RunStatus"]


class RunStatus(StrEnum):
    """A run's status. A `str` (stored and printed as its value), so JSON and SQL see plain text."""

    QUEUED = "queued"  # waiting for a worker (`agentflow run --queue`, `Runner.enqueue`)
    RUNNING = "running"  # being executed (or its process died mid-run: then resumable)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    AWAITING_APPROVAL = "awaiting_approval"
    CANCELLED = "cancelled"

    @property
    def exit_code(self) -> int:
        """0 succeeded, 1 failed (or still queued / running), 3 budget exhausted, 4 awaiting approval, 130 cancelled."""
        return _EXIT_CODES[self]


_EXIT_CODES = {
    RunStatus.SUCCEEDED: 0,
    RunStatus.FAILED: 1,
    RunStatus.QUEUED: 1,
    RunStatus.RUNNING: 1,
    RunStatus.BUDGET_EXHAUSTED: 3,
    RunStatus.AWAITING_APPROVAL: 4,
    RunStatus.CANCELLED: 130,
}
