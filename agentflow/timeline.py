"""A run as a tree of timed spans, derived from its events: the HTML view and the OpenTelemetry export read it.

    run (one span per execution: start or resume ... finish / pause)
    ├── agent activation  (one agent, from its first step until it answers; plan steps and specialists alike)
    │   ├── model call    (start = end - latency)
    │   └── tool call
    └── ...

An agent's *activation* begins with its first event and ends with a model call that decides without tool
calls (a final answer: a plan, a route, a step's report); one still open when the run stops (a handoff, a
budget stop, a pause) ends with its last call. The same agent asked again
later (a supervisor routing a second time) is a new activation. Events outside any agent (approvals, errors)
belong to the run.

`SpanBuilder` consumes events one at a time, as they are recorded or as they happen live, and reports spans
as they open and close, so a live exporter and a reader of a finished trace share one derivation. Where an
event's times come from is decided in one place, `placement`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from agentflow.events import (
    Event,
    ModelCalled,
    RunErrored,
    RunFinished,
    RunStarted,
    SubagentFinished,
    ToolCalled,
    from_trace,
)

__all__ = ["Mark", "Span", "SpanBuilder", "SpanKind", "decision_key", "epoch", "placement", "spans_of_trace"]

SpanKind = Literal["run", "agent", "chat", "tool"]
_FAILED = {"failed", "cancelled"}


@dataclass(frozen=True, slots=True)
class Mark:
    """A point event inside a span, and when it happened (seconds since the epoch)."""

    at: float
    event: Event


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """One timed piece of a run. `end` is None while the span is open (a live run)."""

    key: str  # unique within a run: "run/1", "agent/planner/2", "chat/4", "tool/call_2_0"
    kind: SpanKind
    name: str  # run: the graph; agent: its name; chat: the model spec; tool: the tool's name
    parent: str | None
    start: float  # seconds since the epoch
    end: float | None = None
    agent: str = ""
    step: int | None = None
    event: Event | None = None  # the model or tool call a chat / tool span stands for; RunFinished for a run
    error: str | None = None  # error type, for a failed call or run
    marks: tuple[Mark, ...] = field(default=())  # point events of a run span: approvals, resumes, errors

    @property
    def duration(self) -> float:
        return 0.0 if self.end is None else max(0.0, self.end - self.start)


def epoch(ts: str) -> float:
    """Seconds since the epoch of a trace timestamp (ISO 8601)."""
    return datetime.fromisoformat(ts).timestamp()


def placement(event: Event, recorded_at: float) -> tuple[float, float]:
    """When the work an event reports began and ended: its own `ts` and `duration_s`; for a trace written
    before events carried them, the time it was recorded less a call's latency."""
    if event.ts:
        start = epoch(event.ts)
        return start, start + float(event.duration_s or 0.0)
    latency = getattr(event, "latency_s", 0.0) or 0.0
    return recorded_at - float(latency), recorded_at


class SpanBuilder:
    """Turns a run's events, in order, into span updates: `feed(event, at)` returns the spans that opened
    (`end` None) or finished with that event. A leaf span (model / tool call) is reported once, finished."""

    def __init__(self, run_id: str, *, graph: str = "") -> None:
        self.run_id = run_id
        self.graph = graph
        self._run: Span | None = None
        self._segments = 0
        self._agents: dict[str, Span] = {}
        self._last: dict[str, float] = {}  # per open activation: when its last event ended
        self._activations: dict[str, int] = {}
        self._keys: dict[str, int] = {}
        self.last_at = 0.0

    @property
    def open_spans(self) -> list[Span]:
        """Spans opened and not finished yet (innermost last)."""
        return [*([self._run] if self._run else []), *self._agents.values()]

    def _unique(self, key: str) -> str:
        n = self._keys.get(key, 0) + 1
        self._keys[key] = n
        return key if n == 1 else f"{key}#{n}"

    def _open_run(self, at: float) -> list[Span]:
        if self._run is not None:
            return []
        self._segments += 1
        self._run = Span(
            key=f"run/{self._segments}", kind="run", name=self.graph or "run", parent=None, start=at
        )
        return [self._run]

    def _open_agent(self, agent: str, at: float) -> list[Span]:
        if not agent or agent in self._agents:
            return []
        assert self._run is not None
        n = self._activations[agent] = self._activations.get(agent, 0) + 1
        span = Span(
            key=f"agent/{agent}/{n}", kind="agent", name=agent, parent=self._run.key, start=at, agent=agent
        )
        self._agents[agent] = span
        return [span]

    def _close_agent(self, agent: str, at: float | None = None) -> list[Span]:
        span = self._agents.pop(agent, None)
        last = self._last.pop(agent, 0.0)
        return [] if span is None else [replace(span, end=max(at or last, span.start))]

    def _parent_of(self, agent: str) -> str:
        owner = self._agents.get(agent) or self._run
        assert owner is not None
        return owner.key

    def feed(self, event: Event, at: float) -> list[Span]:
        """The spans that open or finish with `event`, recorded at `at` (seconds since the epoch)."""
        start, end = placement(event, at)
        self.last_at = max(self.last_at, end)
        if isinstance(event, SubagentFinished):  # the invocation's end: its activation (if still open) ends
            return self._close_agent(event.agent, end) if event.agent in self._agents else []
        if isinstance(event, RunStarted):
            self.graph = self.graph or event.graph
        out = self._open_run(start)
        out += self._open_agent(event.agent, start)
        if event.agent in self._agents:
            self._last[event.agent] = end
        match event:
            case ModelCalled():
                out.append(
                    Span(
                        key=self._unique(f"chat/{event.step}"),
                        kind="chat",
                        name=event.model,
                        parent=self._parent_of(event.agent),
                        start=start,
                        end=end,
                        agent=event.agent,
                        step=event.step,
                        event=event,
                    )
                )
                if not event.decision.get("tool_calls"):  # an answer ends the agent's activation
                    out += self._close_agent(event.agent, end)
            case ToolCalled():
                out.append(
                    Span(
                        key=self._unique(f"tool/{event.call_id}"),
                        kind="tool",
                        name=event.tool,
                        parent=self._parent_of(event.agent),
                        start=start,
                        end=end,
                        agent=event.agent,
                        step=event.step,
                        event=event,
                        error=(event.error_type or "ToolError") if event.is_error else None,
                    )
                )
            case RunFinished():
                for agent in list(self._agents):
                    out += self._close_agent(agent)
                assert self._run is not None
                error = (event.error or {}).get("type") or (
                    "Cancelled" if event.status == "cancelled" else None
                )
                out.append(
                    replace(self._run, end=end, event=event, error=error if event.status in _FAILED else None)
                )
                self._run = None
            case _ if not event.agent and self._run is not None and not isinstance(event, RunStarted):
                # a run-level point event: an approval, a resume, an error
                error = event.error_type if isinstance(event, RunErrored) else self._run.error
                self._run = replace(self._run, marks=(*self._run.marks, Mark(end, event)), error=error)
        return out

    def finish(self) -> list[Span]:
        """Close whatever is still open at the last time seen (a trace cut short, or a run still going)."""
        out = []
        for agent in list(self._agents):
            out += self._close_agent(agent)
        if self._run is not None:
            out.append(replace(self._run, end=max(self.last_at, self._run.start)))
            self._run = None
        return out


def spans_of_trace(run_id: str, graph: str, rows: Iterable[Any]) -> list[Span]:
    """Every finished span of a recorded trace (`RunStore.events` rows), each once, in the order they ended.
    Rows of kinds this agentflow does not know are skipped."""
    builder = SpanBuilder(run_id, graph=graph)
    out: list[Span] = []
    for row in rows:
        event = from_trace(row.kind, run_id, row.data)
        if event is not None:
            out += [s for s in builder.feed(event, epoch(row.ts)) if s.end is not None]
    return out + builder.finish()


def decision_key(event: Event) -> str:
    """Which model decision a model call makes or a tool call belongs to (the same key for both): the
    decision's LangGraph task when the trace has it, else the agent and the step in the call id."""
    if isinstance(event, ModelCalled):
        return event.task or f"{event.agent}/{event.step}"
    if isinstance(event, ToolCalled):
        if event.decision:
            return event.decision
        parts = event.call_id.split("_")
        step = parts[1] if len(parts) == 3 and parts[0] == "call" else str(event.step)
        return f"{event.agent}/{step}"
    return ""
