"""Run events: what happened, in order. The CLI's live view, the SQLite trace and services all consume these.

Every event has `run_id`, a `kind`, and (once recorded) a per-run sequence number in the trace. Model and tool
events carry everything needed to replay a run exactly: messages in, raw text out, parsed decision, tokens and
latency; arguments, observation, error and latency.

An event's `kind` is its class name in snake case (`ModelCalled` -> "model_called"), and `EVENT_TYPES` maps
each kind back to its class: the trace stores the kind, and whatever reads a trace rebuilds typed events with
`from_trace` instead of comparing strings.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "EVENT_TYPES",
    "ApprovalDecided",
    "ContextTrimmed",
    "Event",
    "ModelCalled",
    "ModelOffer",
    "RunErrored",
    "RunFinished",
    "RunResumed",
    "RunStarted",
    "StepStarted",
    "ToolCalled",
    "from_trace",
    "full_messages",
]

#: kind -> event class, for every event class (agentflow's and any subclass of `Event` defined elsewhere)
EVENT_TYPES: dict[str, type[Event]] = {}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    run_id: str
    agent: str = ""

    def __init_subclass__(cls) -> None:  # (no super(): dataclass(slots=True) re-creates this class)
        cls.kind = _snake(cls.__name__)
        EVENT_TYPES[cls.kind] = (
            cls  # dataclass(slots=True) re-creates the class: the last one registered wins
        )

    def data(self) -> dict[str, Any]:
        """The event's fields other than `run_id`, JSON-safe (what the trace stores)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "run_id"}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    graph: str
    input: Any
    model: str | None  # the run's model spec(s); None: each node's own model, else the bundled demo model


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResumed(Event):
    """A run continues: after a cancel, a budget stop, a failure, decisions on a pause, or a crash
    (`previous_status` "running": its process died while executing it)."""

    previous_status: str
    crashed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(Event):
    step: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOffer(Event):
    """What a model was offered (the tools' specs and the final-answer schema), recorded once per distinct
    offer in a run; each `ModelCalled` names its offer by `digest`. With the messages and settings this is
    everything the prompt and the decoding grammar are made from, so a call can be replayed exactly."""

    digest: str
    tools: list[dict[str, Any]]
    final_schema: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalDecided(Event):
    """A human's decision on a paused call (approve, with edited arguments or not; reject; answer)."""

    call_id: str
    tool: str
    decision: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCalled(Event):
    """One model call. To keep long runs linear in size, `messages` holds only the messages after the first
    `messages_from` ones, which equal the start of the previous call's messages (same agent);
    `full_messages` rebuilds the complete list from a trace."""

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
    """The complete messages of each model call, given the data of a run's `model_called` events in order.

    An assistant turn the trace holds as `{"decision_ref": TASK}` is rebuilt from the `model_called` event of
    that task (its raw text and decision), as the graph state had it."""
    last: dict[str, list[dict[str, Any]]] = {}
    decided: dict[str, dict[str, Any]] = {}
    out = []
    for data in model_events:
        agent = data.get("agent", "")
        new = [_resolved(m, decided) for m in data["messages"]]
        full = last.get(agent, [])[: data.get("messages_from", 0)] + new
        last[agent] = full
        out.append(full)
        if data.get("task"):
            decided[data["task"]] = data
    return out


def _resolved(message: dict[str, Any], decided: dict[str, dict[str, Any]]) -> dict[str, Any]:
    task = message.get("decision_ref")
    if task is None or task not in decided:
        return message
    from agentflow.messages import Decision, assistant_message

    data = decided[task]
    rebuilt = dict(assistant_message(Decision.model_validate(data["decision"]), data["raw_text"]))
    rebuilt["decision_id"] = task
    return rebuilt


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCalled(Event):
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
class ContextTrimmed(Event):
    """An agent's conversation neared the model's context window and its context policy cut older turns
    (never the system prompt or the task, never a tool call without its results): `dropped` messages left
    the prompt from here on, replaced by `summary` when the policy summarises (its model call's tokens in
    `summary_tokens`). Token counts are the policy's measure (the model's tokenizer where it has one)."""

    step: int
    policy: str
    window: int
    tokens_before: int
    tokens_after: int
    messages_before: int
    messages_after: int
    dropped: int
    summary: str | None = None
    summary_tokens: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunErrored(Event):
    error_type: str
    message: str
    step: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    status: str
    output: Any
    usage: dict[str, Any]
    budget: str | None = None
    error: dict[str, str] | None = None


def from_trace(kind: str, run_id: str, data: dict[str, Any]) -> Event | None:
    """The typed event a trace row holds (its kind and data), or None for a kind no class is registered for.
    Fields a newer or older agentflow wrote that this class does not have are dropped."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(run_id=run_id, **{k: v for k, v in data.items() if k in names and k != "run_id"})
