"""`ToolJournal`: what a run's tool calls did, so no finished call ever runs twice.

Model decisions are journaled too (their `model_called` trace events are the record), keyed by the model
node's LangGraph task (one execution of a node at one checkpoint; it keeps its id when LangGraph re-runs the
node after a pause or a crash): a model node re-run after a crash reuses its decision. Tool calls are keyed
by (that decision's task, call id), so they keep their identity even when the checkpoint after the decision
was lost. A non-idempotent call is marked `started` on disk before it runs and `finished` (with its outcome)
after; an idempotent call's record is its `tool_called` trace event, queued with the rest of the trace. On
resume the runner loads the run's entries once (`load_journal`); a fresh run starts empty, so the normal path
never reads the disk and waits for it only around non-idempotent calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentflow.events import Event, ModelCalled, ToolCalled
from agentflow.messages import ToolCall
from agentflow.tooling.execute import ToolOutcome

if TYPE_CHECKING:
    from agentflow.runtime.run_writer import RunWriter
    from agentflow.store.base import Storage

__all__ = ["DECISION", "ToolJournal", "load_journal", "outcome_from_dict", "outcome_to_dict"]

DECISION = "decision"  # the journal's call id for a model node's decision
_OUTCOME_KEYS = (
    "content",
    "is_error",
    "error_type",
    "result",
    "attempts",
    "latency_s",
    "traceback",
    "elicitation",
)

Entries = dict[tuple[str, str], dict[str, Any]]


def outcome_to_dict(outcome: ToolOutcome) -> dict[str, Any]:
    return {
        "content": outcome.content,
        "is_error": outcome.is_error,
        "error_type": outcome.error_type,
        "result": outcome.result,
        "attempts": outcome.attempts,
        "latency_s": outcome.latency_s,
        "traceback": outcome.traceback,
        "elicitation": outcome.elicitation,
    }


def outcome_from_dict(call: ToolCall, data: dict[str, Any]) -> ToolOutcome:
    return ToolOutcome(
        call=call,
        content=data.get("content") or "",
        is_error=bool(data.get("is_error")),
        error_type=data.get("error_type"),
        result=data.get("result"),
        attempts=data.get("attempts") or 0,
        latency_s=data.get("latency_s") or 0.0,
        traceback=data.get("traceback"),
        elicitation=data.get("elicitation"),
    )


async def load_journal(storage: Storage, run_id: str) -> Entries:
    """All of a run's journal entries, keyed (task, call id): decisions and idempotent calls from the trace,
    non-idempotent calls from their explicit started / finished rows."""
    entries: Entries = {}
    for event in await storage.events(run_id):
        data = event.data
        if event.kind == ModelCalled.kind and data.get("task"):
            entries[(data["task"], DECISION)] = {
                "status": "finished",
                "outcome": {"decision": data["decision"], "raw": data["raw_text"], "step": data.get("step")},
            }
        elif event.kind == ToolCalled.kind and data.get("decision"):
            entries[(data["decision"], data["call_id"])] = {
                "status": "finished",
                "outcome": {k: data.get(k) for k in _OUTCOME_KEYS},
            }
    for row in await storage.journal(run_id):
        entries[(row["task"], row["call_id"])] = {"status": row["status"], "outcome": row["outcome"]}
    return entries


@dataclass(slots=True, kw_only=True)
class ToolJournal:
    writer: RunWriter | None = None
    entries: Entries = field(default_factory=dict)

    def get(self, task: str, call_id: str) -> dict[str, Any] | None:
        """`{"status": "started" | "finished", "outcome": {...} | None}` or None."""
        return self.entries.get((task, call_id))

    async def start(self, task: str, call: ToolCall) -> None:
        """Durably mark a non-idempotent call as started, before it runs."""
        self.entries[(task, call.id)] = {"status": "started", "outcome": None}
        if self.writer is not None:
            await self.writer.journal_start(task, call.id, call.name, call.arguments)

    def remember_decision(
        self, task: str, decision: dict[str, Any], raw: str, step: int | None = None
    ) -> None:
        """Keep a model task's decision and its step (its `model_called` event is the durable record, on disk
        before any side effect it leads to: a non-idempotent call's `started` write commits the trace queued
        before it)."""
        self.entries[(task, DECISION)] = {
            "status": "finished",
            "outcome": {"decision": decision, "raw": raw, "step": step},
        }

    def step_of(self, task: str) -> int | None:
        """The step of the decision a model task made (what its tool calls belong to), if known."""
        entry = self.entries.get((task, DECISION))
        step = (entry or {}).get("outcome", {}).get("step") if entry else None
        return step if isinstance(step, int) else None

    def remember(self, task: str, call: ToolCall, outcome: ToolOutcome) -> None:
        self.entries[(task, call.id)] = {"status": "finished", "outcome": outcome_to_dict(outcome)}

    async def finish(self, task: str, call: ToolCall, outcome: ToolOutcome, event: Event) -> None:
        """Durably finish a non-idempotent call's journal row, with its trace event."""
        self.remember(task, call, outcome)
        if self.writer is not None:
            await self.writer.journal_finish(task, call.id, outcome_to_dict(outcome), [event])
