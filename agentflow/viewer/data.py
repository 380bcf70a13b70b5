"""The data a run's HTML view is drawn from: the run record and its trace, regrouped for reading.

Steps are the unit: one model decision with the tool calls it made. Everything else that happened at the
run's level (start, approvals, resumes, errors, finish) is an item of its own. Times are seconds since the
run's first event; agents get stable colours. Nothing is added that the trace does not hold: a value the
trace recorded as redacted is shown redacted.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from agentflow.events import ModelCalled, ModelOffer, StepStarted, ToolCalled, from_trace
from agentflow.timeline import SpanBuilder, decision_key, epoch, placement

__all__ = ["AgentStats", "RunView", "agent_color", "build_view"]

_HIDDEN = (StepStarted, ModelOffer)  # folded into the steps they belong to


def agent_color(agent: str) -> str:
    """A stable, readable colour per agent name."""
    hue = int(hashlib.sha256(agent.encode()).hexdigest()[:4], 16) % 360
    return f"hsl({hue} 55% 42%)"


@dataclass(slots=True, kw_only=True)
class AgentStats:
    agent: str
    activations: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model_s: float = 0.0
    tool_s: float = 0.0


@dataclass(slots=True, kw_only=True)
class RunView:
    record: Any  # the `RunRecord`
    items: list[dict[str, Any]]  # steps and run-level events, in order, JSON-ready (the page's data)
    offers: dict[str, dict[str, Any]]  # offer digest -> tools and final-answer schema
    agents: dict[str, AgentStats]
    colors: dict[str, str]
    usage_series: list[tuple[float, dict[str, float]]]  # (seconds, cumulative usage) after each call
    t0: float
    duration: float
    event_count: int

    def payload(self) -> dict[str, Any]:
        """What the page's script reads."""
        record = dataclasses.asdict(self.record)
        record["status"] = str(self.record.status)
        return {
            "run": record,
            "t0": self.t0,
            "duration": self.duration,
            "items": self.items,
            "offers": self.offers,
            "colors": self.colors,
        }


def build_view(record: Any, rows: list[Any]) -> RunView:
    """The view of run `record` from its trace rows (`RunStore.events`)."""
    t0 = epoch(rows[0].ts) if rows else 0.0
    builder = SpanBuilder(record.id, graph=record.graph)
    items: list[dict[str, Any]] = []
    steps: dict[str, dict[str, Any]] = {}
    offers: dict[str, dict[str, Any]] = {}
    agents: dict[str, AgentStats] = {}
    usage = {"steps": 0.0, "tokens": 0.0, "tool_calls": 0.0, "cost_usd": 0.0}
    series: list[tuple[float, dict[str, float]]] = [(0.0, dict(usage))]
    end_all = 0.0
    for row in rows:
        event = from_trace(row.kind, record.id, row.data)
        at = epoch(row.ts)
        start, end = placement(event, at) if event is not None else (at, at)
        start, end = round(start - t0, 6), round(end - t0, 6)
        end_all = max(end_all, end)
        activation = ""
        if event is not None:
            for span in builder.feed(event, at):
                if span.kind in ("chat", "tool"):
                    activation = span.parent or ""
                elif span.kind == "agent" and span.end is None:
                    agents.setdefault(span.agent, AgentStats(agent=span.agent)).activations += 1
        stats = agents.setdefault(row.agent, AgentStats(agent=row.agent)) if row.agent else None
        base = {
            "seq": row.seq,
            "kind": row.kind,
            "agent": row.agent,
            "step": row.step,
            "start": start,
            "end": end,
        }
        if isinstance(event, ModelOffer):
            offers[event.digest] = {"tools": event.tools, "final_schema": event.final_schema}
            continue
        if isinstance(event, _HIDDEN):
            continue
        if isinstance(event, ModelCalled):
            step = {**base, "type": "step", "activation": activation, "model": row.data, "tools": []}
            steps[decision_key(event)] = step
            items.append(step)
            usage["steps"] += 1
            usage["tokens"] += event.input_tokens + event.output_tokens
            usage["cost_usd"] += event.cost_usd
            series.append((end, dict(usage)))
            if stats:
                stats.model_calls += 1
                stats.input_tokens += event.input_tokens
                stats.output_tokens += event.output_tokens
                stats.model_s += event.latency_s
            continue
        if isinstance(event, ToolCalled):
            tool = {**base, "type": "tool", "data": row.data}
            owner = steps.get(decision_key(event))
            if owner is not None:
                owner["tools"].append(tool)
                owner["end"] = max(owner["end"], end)
            else:
                items.append(tool)
            if not event.by_human:
                usage["tool_calls"] += 1
                series.append((end, dict(usage)))
            if stats:
                stats.tool_calls += 1
                stats.tool_s += event.latency_s
                stats.errors += int(event.is_error)
            continue
        items.append({**base, "type": "event", "data": row.data})
    colors = {name: agent_color(name) for name in agents}
    return RunView(
        record=record,
        items=items,
        offers=offers,
        agents=agents,
        colors=colors,
        usage_series=series,
        t0=t0,
        duration=max(end_all, 0.0),
        event_count=len(rows),
    )
