"""`ToolJournal`: what a run's tool calls did, so no finished call ever runs twice.

Model decisions are journaled too (their `model_decision` trace events are the record), keyed by the model
node's LangGraph task (one execution of a node at one
checkpoint; it keeps its id when LangGraph re-runs the node after a pause or a crash): a model node re-run
after a crash reuses its decision. Tool calls are keyed by (that decision's task, call id), so they keep
their identity even when the checkpoint after the decision was lost. A non-idempotent call is marked `started` on disk
before it runs and `finished` (with its outcome) after; an idempotent call's record is its `tool_result`
trace event, queued with the rest of the trace. On resume the runner loads the run's entries once; a fresh run starts empty,
so the normal path never reads the disk and waits for it only around non-idempotent calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agentflow.events import Event
from agentflow.messages import ToolCall
from agentflow.tooling.execute import ToolOutcome

__all__ = ["DECISION", "JournalStore", "ToolJournal", "outcome_from_dict", "outcome_to_dict"]

DECISION = "decision"  # the journal's call id for a model node's decision


class JournalStore(Protocol):
    async def journal_start(self, run_id: str, task: str, call_id: str, tool: str,
                            arguments: dict[str, Any]) -> None: ...

    async def journal_finish(self, run_id: str, task: str, call_id: str, outcome: dict[str, Any],
                             events: list[Event] = ...) -> None: ...



def outcome_to_dict(outcome: ToolOutcome) -> dict[str, Any]:
    return {"content": outcome.content, "is_error": outcome.is_error, "error_type": outcome.error_type,
            "result": outcome.result, "attempts": outcome.attempts, "latency_s": outcome.latency_s}


def outcome_from_dict(call: ToolCall, data: dict[str, Any]) -> ToolOutcome:
    return ToolOutcome(call=call, **{k: data.get(k) for k in ("content", "is_error", "error_type", "result")},
                       attempts=data.get("attempts") or 0, latency_s=data.get("latency_s") or 0.0)


@dataclass(slots=True, kw_only=True)
class ToolJournal:
    run_id: str
    store: JournalStore | None = None
    entries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def get(self, task: str, call_id: str) -> dict[str, Any] | None:
        """`{"status": "started" | "finished", "outcome": {...} | None}` or None."""
        return self.entries.get((task, call_id))

    async def start(self, task: str, call: ToolCall) -> None:
        """Durably mark a non-idempotent call as started, before it runs."""
        self.entries[(task, call.id)] = {"status": "started", "outcome": None}
        if self.store is not None:
            await self.store.journal_start(self.run_id, task, call.id, call.name, call.arguments)

    def remember_decision(self, task: str, decision: dict[str, Any], raw: str) -> None:
        """Keep a model task's decision (its `model_decision` event is the durable record, on disk before any
        side effect it leads to: a non-idempotent call's `started` write flushes the trace first)."""
        self.entries[(task, DECISION)] = {"status": "finished", "outcome": {"decision": decision, "raw": raw}}

    def remember(self, task: str, call: ToolCall, outcome: ToolOutcome) -> None:
        self.entries[(task, call.id)] = {"status": "finished", "outcome": outcome_to_dict(outcome)}

    async def finish(self, task: str, call: ToolCall, outcome: ToolOutcome, event: Event) -> None:
        """Durably finish a non-idempotent call's journal row, with its trace event."""
        self.remember(task, call, outcome)
        if self.store is not None:
            await self.store.journal_finish(self.run_id, task, call.id, outcome_to_dict(outcome), [event])
