"""`RunResult`: how a run ended — what `agentflow run --json` prints and `agentflow.run` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentflow.approval import PendingCall
from agentflow.exceptions import error_class
from agentflow.status import RunStatus

if TYPE_CHECKING:
    from agentflow.store.runs import RunRecord

__all__ = ["RunResult"]

USAGE_KEYS = ("steps", "input_tokens", "output_tokens", "tool_calls", "cost_usd", "wall_s")
_PENDING_KEYS = ("call_id", "tool", "arguments", "reasoning", "unknown_outcome", "decision")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """`status` says how the run ended (`RunStatus`). `budget` names the budget that ran out; `partial` is the
    best partial result when the run did not succeed; `pending` lists the calls a paused run waits on (id,
    tool, arguments, the model's reasoning)."""

    run_id: str
    status: RunStatus
    output: Any
    usage: dict[str, Any]
    partial: Any = None
    budget: str | None = None
    error: dict[str, str] | None = None
    pending: list[PendingCall] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: by status, except that a run failed by an error that is the caller's fault (a
        `UserError`: no model, a bad spec) exits like any bad input, 2."""
        if self.status is RunStatus.FAILED and self.error:
            cls = error_class(self.error.get("type", ""))
            if cls is not None:
                return cls.exit_code
        return self.status.exit_code

    def to_json(self) -> dict[str, Any]:
        """The `--json` object: run_id, status, output, usage, budget, error, partial, pending."""
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            "output": self.output,
            "usage": {k: self.usage.get(k, 0) for k in USAGE_KEYS},
            "budget": self.budget,
            "error": self.error,
            "partial": self.partial,
            "pending": [{k: v for k, v in c.to_json().items() if k in _PENDING_KEYS} for c in self.pending],
        }

    @classmethod
    def from_record(cls, record: RunRecord) -> RunResult:
        paused = record.status is RunStatus.AWAITING_APPROVAL
        return cls(
            run_id=record.id,
            status=record.status,
            output=record.output,
            usage=record.usage,
            partial=record.partial,
            budget=record.budget_exhausted,
            error=record.error,
            pending=list(record.pending or []) if paused else [],
        )
