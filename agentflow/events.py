"""Run events: what happened, in order. The CLI's live view, the SQLite trace and services all consume these.

Every event has `run_id`, a `kind`, and (once recorded) a per-run sequence number in the trace. Model and tool
events carry everything needed to replay a run exactly: messages in, raw text out, parsed decision, tokens and
latency; arguments, observation, error and latency.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "ApprovalDecided",
    "Event",
    "ModelCalled",
    "ModelOffer",
    "RunErrored",
    "RunFinished",
    "RunResumed",
    "RunStarted",
    "StepStarted",
    "ToolCalled",
    "full_messages",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    run_id: str
    agent: str = ""

    def data(self) -> dict[str, Any]:
        """The event's fields other than `run_id`, JSON-safe (what the trace stores)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "run_id"}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    graph: str
    input: Any
    model: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResumed(Event):
    """A run continues: after a cancel, a budget stop, a failure, decisions on a pause, or a crash
    (`previous_status` "running": its process died while executing it)."""

    kind: ClassVar[str] = "run_resumed"
    previous_status: str
    crashed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    step: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOffer(Event):
    """What a model was offered (the tools' specs and the final-answer schema), recorded once per distinct
    offer in a run; each `ModelCalled` names its offer by `digest`. With the messages and settings this is
    everything the prompt and the decoding grammar are made from, so a call can be replayed exactly."""

    kind: ClassVar[str] = "model_offer"
    digest: str
    tools: list[dict[str, Any]]
    final_schema: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalDecided(Event):
    """A human's decision on a paused call (approve, with edited arguments or not; reject; answer)."""

    kind: ClassVar[str] = "approval_decided"
    call_id: str
    tool: str
    decision: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCalled(Event):
    """One model call. To keep long runs linear in size, `messages` holds only the messages after the first
    `messages_from` ones, which equal the start of the previous call's messages (same agent);
    `full_messages` rebuilds the complete list from a trace."""

    kind: ClassVar[str] = "model_decision"
    step: int
    model: str
    messages: list[dict[str, Any]]
    messages_from: int
    raw_text: str
    decision: dict[str, Any]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_s: float
    settings: dict[str, Any] = field(default_factory=dict)
    task: str = ""  # the LangGraph task that decided (the journal key of this decision)
    offer: str = ""  # digest of the `ModelOffer` (tools and final schema) this call was made with
    engine: str = ""  # the mask engine that constrained the decoding, when the backend reports one


def full_messages(model_events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The complete messages of each model call, given the data of a run's `model_decision` events in order."""
    last: dict[str, list[dict[str, Any]]] = {}
    out = []
    for data in model_events:
        agent = data.get("agent", "")
        full = last.get(agent, [])[: data.get("messages_from", 0)] + list(data["messages"])
        last[agent] = full
        out.append(full)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCalled(Event):
    kind: ClassVar[str] = "tool_result"
    step: int
    call_id: str
    tool: str
    arguments: dict[str, Any]
    content: str
    is_error: bool
    error_type: str | None
    result: Any
    attempts: int
    latency_s: float
    by_human: bool = False  # a human rejected the call or answered in the tool's place
    decision: str = ""  # the task of the decision this call belongs to (with call_id: the journal key)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunErrored(Event):
    kind: ClassVar[str] = "error"
    error_type: str
    message: str
    step: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    kind: ClassVar[str] = "final"
    status: str
    output: Any
    usage: dict[str, Any]
    budget: str | None = None
    error: dict[str, str] | None = None
