"""`runs diff A B`: two runs side by side, step by step.

Each run becomes, per agent, its sequence of decisions (a model call with the tool calls it led to). The two
sequences of each agent are aligned (difflib, on what each decision did: the tool names and arguments, or the
answer), so a step inserted in one run shows as "only in B" instead of shifting every later pair. Aligned pairs
report what differs: the reasoning, the tool calls (name, arguments), the observations, the answer, tokens;
timings are reported when one is more than 1.5x the other (and 50 ms apart). Then the runs' status, output
and usage.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from agentflow.events import ModelCalled, ToolCalled
from agentflow.store.base import RunRecord, TraceEvent

__all__ = ["RunDiff", "StepDiff", "diff_runs"]

_USAGE_KEYS = ("steps", "input_tokens", "output_tokens", "tool_calls", "cost_usd")


@dataclass(frozen=True, slots=True)
class _Decision:
    agent: str
    index: int  # the agent's n-th decision
    step: int
    model: dict[str, Any]
    tools: list[dict[str, Any]]

    @property
    def signature(self) -> str:
        decision = self.model.get("decision") or {}
        calls: list[Any] = [[c.get("name"), c.get("arguments")] for c in decision.get("tool_calls") or []]
        return json.dumps(calls or ["answer", decision.get("final_answer")], sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class StepDiff:
    """One aligned decision (or one present in only one run) and what differs."""

    agent: str
    step_a: int | None
    step_b: int | None
    changes: list[dict[str, Any]] = field(default_factory=list)  # {"field", "a", "b"}

    @property
    def only_in(self) -> str | None:
        return "a" if self.step_b is None else "b" if self.step_a is None else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "step_a": self.step_a,
            "step_b": self.step_b,
            "only_in": self.only_in,
            "changes": self.changes,
        }


@dataclass(frozen=True, slots=True)
class RunDiff:
    a: str
    b: str
    steps: list[StepDiff]  # every aligned pair with a change, and every unmatched decision
    run: list[dict[str, Any]]  # status, output, usage fields that differ
    same_steps: int  # aligned decisions with no difference

    @property
    def identical(self) -> bool:
        return not self.steps and not self.run

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "identical": self.identical,
            "same_steps": self.same_steps,
            "steps": [s.as_dict() for s in self.steps],
            "run": self.run,
        }


def diff_runs(
    record_a: RunRecord, events_a: list[TraceEvent], record_b: RunRecord, events_b: list[TraceEvent]
) -> RunDiff:
    """How run B differs from run A (see the module docstring)."""
    mine, theirs = _decisions(events_a), _decisions(events_b)
    steps: list[StepDiff] = []
    same = 0
    for agent in _agents(mine, theirs):
        left, right = mine.get(agent, []), theirs.get(agent, [])
        matcher = difflib.SequenceMatcher(
            a=[d.signature for d in left], b=[d.signature for d in right], autojunk=False
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                for x, y in zip(left[i1:i2], right[j1:j2], strict=True):
                    changes = _compare(x, y)
                    if changes:
                        steps.append(StepDiff(agent, x.step, y.step, changes))
                    else:
                        same += 1
                continue
            steps += [StepDiff(agent, x.step, None) for x in left[i1:i2]]
            steps += [StepDiff(agent, None, y.step) for y in right[j1:j2]]
    steps.sort(key=lambda s: (s.step_a if s.step_a is not None else s.step_b or 0, s.step_b or 0))
    return RunDiff(record_a.id, record_b.id, steps, _run_changes(record_a, record_b), same)


def _agents(a: dict[str, list[_Decision]], b: dict[str, list[_Decision]]) -> list[str]:
    seen: dict[str, None] = {}
    for agent in [*a, *b]:
        seen.setdefault(agent, None)
    return list(seen)


def _decisions(events: list[TraceEvent]) -> dict[str, list[_Decision]]:
    by_task: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.kind == ToolCalled.kind:
            by_task.setdefault(event.data.get("decision") or "", []).append(event.data)
    out: dict[str, list[_Decision]] = {}
    for event in events:
        if event.kind != ModelCalled.kind:
            continue
        data = event.data
        agent = data.get("agent") or event.agent
        mine = out.setdefault(agent, [])
        tools = sorted(by_task.get(data.get("task") or "\0", []), key=lambda t: str(t.get("call_id")))
        mine.append(_Decision(agent, len(mine), int(data.get("step") or 0), data, tools))
    return out


def _compare(a: _Decision, b: _Decision) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    da, db = a.model.get("decision") or {}, b.model.get("decision") or {}

    def note(name: str, x: Any, y: Any) -> None:
        if x != y:
            changes.append({"field": name, "a": x, "b": y})

    note("reasoning", da.get("reasoning"), db.get("reasoning"))
    note("answer", da.get("final_answer"), db.get("final_answer"))
    calls_a = da.get("tool_calls") or []
    calls_b = db.get("tool_calls") or []
    note("tools called", [c.get("name") for c in calls_a], [c.get("name") for c in calls_b])
    for x, y in zip(calls_a, calls_b, strict=False):
        if x.get("name") == y.get("name"):
            args_x, args_y = x.get("arguments") or {}, y.get("arguments") or {}
            for key in sorted(set(args_x) | set(args_y)):
                note(f"{x.get('name')}.{key}", args_x.get(key), args_y.get(key))
    for x, y in zip(a.tools, b.tools, strict=False):
        if x.get("tool") == y.get("tool"):
            note(f"{x.get('tool')} observation", x.get("content"), y.get("content"))
            note(f"{x.get('tool')} error", x.get("is_error"), y.get("is_error"))
    note("input tokens", a.model.get("input_tokens"), b.model.get("input_tokens"))
    note("output tokens", a.model.get("output_tokens"), b.model.get("output_tokens"))
    note("model", a.model.get("model"), b.model.get("model"))
    ta, tb = float(a.model.get("latency_s") or 0), float(b.model.get("latency_s") or 0)
    if abs(ta - tb) > 0.05 and max(ta, tb) > 1.5 * max(min(ta, tb), 1e-9):
        changes.append({"field": "latency_s", "a": round(ta, 4), "b": round(tb, 4)})
    return changes


def _run_changes(a: RunRecord, b: RunRecord) -> list[dict[str, Any]]:
    changes = []
    if a.status != b.status:
        changes.append({"field": "status", "a": str(a.status), "b": str(b.status)})
    if a.output != b.output:
        changes.append({"field": "output", "a": a.output, "b": b.output})
    for key in _USAGE_KEYS:
        x, y = a.usage.get(key, 0), b.usage.get(key, 0)
        if x != y:
            changes.append({"field": f"usage.{key}", "a": x, "b": y})
    return changes
