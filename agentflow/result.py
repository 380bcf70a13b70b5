"""`RunResult`: how a run ended — what `agentflow run --json` prints and `agentflow.run` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentflow.store.runs import RunRecord

__all__ = ["EXIT_CODES", "RunResult"]

EXIT_CODES = {"succeeded": 0, "failed": 1, "budget_exhausted": 3, "awaiting_approval": 4, "cancelled": 130,
              "running": 1}


_USER_ERRORS = {"UserError", "ConfigError", "ModelSpecError", "GraphLoadError", "ToolDefinitionError",
                "UnknownRunError", "StoreError", "RunBusyError", "UnsupportedSchemaError", "MaxTokensTooSmallError",
                "UnsupportedTokenizerError", "InvalidDecisionError"}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """`status` is one of succeeded, failed, budget_exhausted, cancelled, awaiting_approval. `budget` names the
    budget that ran out; `partial` is the best partial result when the run did not succeed; `pending` lists
    the calls a paused run waits on (id, tool, arguments, the model's reasoning)."""

    run_id: str
    status: str
    output: Any
    usage: dict[str, Any]
    partial: Any = None
    budget: str | None = None
    error: dict[str, str] | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def exit_code(self) -> int:
        if self.status == "failed" and self.error and self.error.get("type") in _USER_ERRORS:
            return 2  # the run could not work as configured (no model, bad spec): bad input
        return EXIT_CODES.get(self.status, 1)

    def to_json(self) -> dict[str, Any]:
        """The `--json` object: run_id, status, output, usage, budget, error (and partial)."""
        usage_keys = ("steps", "input_tokens", "output_tokens", "tool_calls", "cost_usd", "wall_s")
        return {
            "run_id": self.run_id,
            "status": self.status,
            "output": self.output,
            "usage": {k: self.usage.get(k, 0) for k in usage_keys},
            "budget": self.budget,
            "error": self.error,
            "partial": self.partial,
            "pending": [{k: c[k] for k in ("call_id", "tool", "arguments", "reasoning", "unknown_outcome", "decision")
                         if k in c} for c in self.pending],
        }

    @classmethod
    def from_record(cls, record: RunRecord) -> RunResult:
        return cls(run_id=record.id, status=record.status, output=record.output, usage=record.usage,
                   partial=record.partial, budget=record.budget_exhausted, error=record.error,
                   pending=record.pending or [] if record.status == "awaiting_approval" else [])
