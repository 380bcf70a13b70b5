"""A recorded run, read back for replay: each agent's model calls in order, each tool call's outcome, the
offers, the human decisions, the result.

Matching is by agent and order, not by LangGraph's task ids (which differ between executions): the N-th model
call of agent `executor:s2` in the replay is the N-th the original made; a tool call is its call id (which
agentflow derives from the step), checked against the recorded tool and arguments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from agentflow.events import (
    ApprovalDecided,
    ModelCalled,
    ModelOffer,
    ToolCalled,
    full_messages,
)
from agentflow.store.base import RunRecord, TraceEvent

__all__ = ["RecordedCall", "Recording"]


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One model call of the original run."""

    agent: str
    step: int
    model: str
    messages: list[dict[str, Any]]
    raw_text: str
    decision: dict[str, Any]
    input_tokens: int
    output_tokens: int
    offer: str


@dataclass(slots=True)
class Recording:
    """What a run recorded, indexed for replay (consumed as the replay goes)."""

    record: RunRecord
    calls: dict[str, list[RecordedCall]] = field(default_factory=dict)  # per agent, in order
    tools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # call id -> its tool_called data
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)  # digest -> the model_offer data
    decisions: list[dict[str, Any]] = field(default_factory=list)  # approval_decided data, in order
    redacted: bool = False  # the trace holds redacted values
    _next: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def of(cls, record: RunRecord, events: list[TraceEvent]) -> Recording:
        recording = cls(record=record)
        model_rows = [e.data for e in events if e.kind == ModelCalled.kind]
        for data, messages in zip(model_rows, full_messages(model_rows), strict=True):
            agent = data.get("agent", "")
            recording.calls.setdefault(agent, []).append(
                RecordedCall(
                    agent=agent,
                    step=int(data.get("step") or 0),
                    model=str(data.get("model") or ""),
                    messages=messages,
                    raw_text=data.get("raw_text") or "",
                    decision=data.get("decision") or {},
                    input_tokens=int(data.get("input_tokens") or 0),
                    output_tokens=int(data.get("output_tokens") or 0),
                    offer=data.get("offer") or "",
                )
            )
        for event in events:
            if event.kind == ToolCalled.kind:
                recording.tools.setdefault(event.data["call_id"], []).append(event.data)
            elif event.kind == ModelOffer.kind:
                recording.offers[event.data["digest"]] = event.data
            elif event.kind == ApprovalDecided.kind:
                recording.decisions.append(event.data)
        recording.redacted = any(_holds_redaction(e.data) for e in events)
        return recording

    def next_call(self, agent: str) -> RecordedCall | None:
        """The agent's next recorded model call (None: the original made no more), consumed."""
        calls = self.calls.get(agent, [])
        index = self._next[agent]
        if index >= len(calls):
            return None
        self._next[agent] = index + 1
        return calls[index]

    def unused_calls(self) -> list[RecordedCall]:
        """Recorded model calls the replay has not made (in step order)."""
        left = [c for agent, calls in self.calls.items() for c in calls[self._next[agent] :]]
        return sorted(left, key=lambda c: c.step)

    def next_tool(self, call_id: str) -> dict[str, Any] | None:
        """The next recorded outcome of call `call_id` (a call paused for its server's question ran more than
        once), consumed; the last one stays for later asks."""
        outcomes = self.tools.get(call_id) or []
        if not outcomes:
            return None
        return outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]

    def decision_for(self, call_id: str) -> dict[str, Any] | None:
        """The next human decision the original run recorded for a paused call, consumed (in order)."""
        for index, data in enumerate(self.decisions):
            if data.get("call_id") == call_id:
                return self.decisions.pop(index)
        return None


def _holds_redaction(value: Any) -> bool:
    from agentflow.redaction import REDACTED

    if isinstance(value, str):
        return REDACTED in value
    if isinstance(value, dict):
        return any(_holds_redaction(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_redaction(v) for v in value)
    return False
