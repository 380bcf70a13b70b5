"""Run events: what happened, in order. The CLI's live view, the SQLite trace and services all consume these.

Every event has `run_id`, a `kind`, and (once recorded) a per-run sequence number in the trace. Model and tool
events carry everything needed to replay a run exactly: messages in, raw text out, parsed decision, tokens and
latency; arguments, observation, error and latency.

An event's `kind` is its class name in snake case (`ModelCalled` -> "model_called"), and `EVENT_TYPES` maps
each kind back to its class: the trace stores the kind, and whatever reads a trace rebuilds typed events with
`from_trace` instead of comparing strings.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

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
    "SandboxReady",
    "StepStarted",
    "SubagentFinished",
    "SubagentStarted",
    "ToolCalled",
    "ToolSourcesConnected",
    "current_scope",
    "enter_scope",
    "from_trace",
    "full_messages",
    "leave_scope",
    "now_iso",
]

#: kind -> event class, for every event class (agentflow's and any subclass of `Event` defined elsewhere)
EVENT_TYPES: dict[str, type[Event]] = {}


class TraceEventLike(Protocol):
    """A recorded event as storages return it (`agentflow.store.TraceEvent`)."""

    @property
    def kind(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


#: the sub-agent invocation (`SubagentStarted.scope`) the current code runs in; "" at a run's top level
_SCOPE: contextvars.ContextVar[str] = contextvars.ContextVar("agentflow_scope", default="")


def now_iso() -> str:
    """The current time as the trace writes it (ISO 8601, UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def current_scope() -> str:
    """The id of the sub-agent invocation the caller runs in ("" at the run's top level)."""
    return _SCOPE.get()


def enter_scope(scope: str) -> contextvars.Token[str]:
    """Make `scope` the current sub-agent invocation (for `agentflow.runtime.agent_scope`)."""
    return _SCOPE.set(scope)


def leave_scope(token: contextvars.Token[str]) -> None:
    _SCOPE.reset(token)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What every event carries: the run, the agent it concerns, when it happened (`ts`: for a model or tool
    call, when the call began; ISO 8601 UTC), how long it took (`duration_s`, None for a point in time) and the
    sub-agent invocation it belongs to (`parent_id`: a `SubagentStarted.scope`, "" at the run's top level)."""

    kind: ClassVar[str] = "event"
    run_id: str
    agent: str = ""
    ts: str = field(default_factory=now_iso)
    duration_s: float | None = None
    parent_id: str = field(default_factory=current_scope)

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
class SubagentStarted(Event):
    """A sub-agent (a plan step's executor, a supervisor's specialist, a handoff target) starts working on
    `task`. Its events carry `parent_id=scope`; this event's own `parent_id` is the invocation it runs in."""

    scope: str
    task: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentFinished(Event):
    """A sub-agent invocation ended (`duration_s` since its start): with an answer, or not (`error`). A pause
    or a budget stop inside it ends the run's execution instead, without this event."""

    scope: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOffer(Event):
    """What a model was offered (the tools' specs and the final-answer schema), recorded once per distinct
    offer in a run; each `ModelCalled` names its offer by `digest`. With the messages and settings this is
    everything the prompt and the decoding grammar are made from, so a call can be replayed exactly."""

    digest: str
    tools: list[dict[str, Any]]
    final_schema: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSourcesConnected(Event):
    """The run's tool sources (MCP servers) are connected: each one's description (never a secret) and the pin
    of its tool definitions, by source name. A resumed run checks its sources against the first such pins."""

    sources: list[dict[str, Any]]
    pins: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxReady(Event):
    """The Docker sandboxes the run's tools use are available (engine reachable, image present): the policies
    in force, as plain data with their digests."""

    policies: list[dict[str, Any]]


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
    traceback: str | None = None  # where the tool function raised (never shown to the model)
    elicitation: dict[str, Any] | None = None  # the call stopped: its MCP server asked a human this


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
    fields = {k: v for k, v in data.items() if k in names and k != "run_id"}
    fields.setdefault("ts", "")  # (recorded before events carried their time: not "now")
    fields.setdefault("parent_id", "")
    return cls(run_id=run_id, **fields)
