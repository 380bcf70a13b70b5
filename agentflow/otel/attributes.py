"""What each span of a run says in OpenTelemetry's GenAI semantic conventions: name, kind, attributes, events.

Pure data (no OpenTelemetry import), so it is cheap to test and to read:

    invoke_agent {graph}      a run (one span per execution: start or resume ... finish or pause)
    invoke_agent {agent}      an agent's activation (plan steps, specialists, the ReAct agent)
    chat {model}              a model call: gen_ai.request.model, gen_ai.usage.input_tokens / output_tokens
    execute_tool {tool}       a tool call: gen_ai.tool.name, gen_ai.tool.call.id

Message contents (messages, decisions, tool arguments and results, the run's input and output, approval
payloads, error messages) are left out unless `include_content` is set; what the trace holds is all there is,
so a value redacted at record time stays redacted here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from agentflow.events import ApprovalDecided, ModelCalled, RunErrored, RunFinished, RunResumed, ToolCalled
from agentflow.timeline import Span

__all__ = ["MessageHistory", "SpanShape", "SpanShaper", "agent_name_of_graph"]

AttributeValue = str | bool | int | float | list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanShape:
    name: str
    kind: Literal["internal", "client"]
    attributes: dict[str, AttributeValue]
    events: list[tuple[str, float, dict[str, AttributeValue]]] = field(default_factory=list)
    error: str | None = None  # error type: the span's status is ERROR
    error_message: str | None = None


def agent_name_of_graph(graph: str) -> str:
    """A readable agent name for a run's graph: bundled names as they are, `path/to/file.py:factory` as
    `file` (the path stays in `agentflow.graph`)."""
    if "/" in graph or "\\" in graph or ".py" in graph:
        return PurePath(graph.split(".py:", 1)[0]).stem or graph
    return graph or "run"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One message as GenAI semantic-convention parts."""
    role = message.get("role")
    if role == "tool":
        return [
            {
                "type": "tool_call_response",
                "id": message.get("tool_call_id"),
                "response": message.get("content"),
            }
        ]
    parts: list[dict[str, Any]] = []
    if message.get("reasoning"):
        parts.append({"type": "reasoning", "content": message["reasoning"]})
    calls = message.get("tool_calls") or []
    for call in calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": call.get("name"),
                "arguments": call.get("arguments"),
            }
        )
    if not calls and message.get("content") is not None:
        parts.append({"type": "text", "content": message["content"]})
    return parts


def _messages(messages: list[dict[str, Any]]) -> str:
    return _json([{"role": m.get("role"), "parts": _parts(m)} for m in messages])


def _output(decision: dict[str, Any]) -> str:
    parts: list[dict[str, Any]] = []
    if decision.get("reasoning"):
        parts.append({"type": "reasoning", "content": decision["reasoning"]})
    for call in decision.get("tool_calls") or []:
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": call.get("name"),
                "arguments": call.get("arguments"),
            }
        )
    if not decision.get("tool_calls"):
        answer = decision.get("final_answer")
        parts.append({"type": "text", "content": answer if isinstance(answer, str) else _json(answer)})
    reason = "tool_call" if decision.get("tool_calls") else "stop"
    return _json([{"role": "assistant", "parts": parts, "finish_reason": reason}])


class MessageHistory:
    """Rebuilds each model call's full message list from the trace's deltas (`ModelCalled.messages_from`),
    per agent, as `agentflow.events.full_messages` does for a whole trace."""

    def __init__(self) -> None:
        self._last: dict[str, list[dict[str, Any]]] = {}

    def full(self, event: ModelCalled) -> list[dict[str, Any]]:
        full = self._last.get(event.agent, [])[: event.messages_from] + list(event.messages)
        self._last[event.agent] = full
        return full


class SpanShaper:
    """Shapes a run's spans as they finish. Stateful (it rebuilds message lists), so one per run, fed every
    chat span in order."""

    def __init__(self, run_id: str, *, include_content: bool = False) -> None:
        self.run_id = run_id
        self.include_content = include_content
        self._history = MessageHistory()

    def _common(self, operation: str) -> dict[str, AttributeValue]:
        return {"gen_ai.operation.name": operation, "gen_ai.conversation.id": self.run_id}

    def shape(self, span: Span) -> SpanShape:
        match span.kind:
            case "run":
                return self._run(span)
            case "agent":
                attributes = self._common("invoke_agent") | {"gen_ai.agent.name": span.name}
                attributes["agentflow.activation"] = int(span.key.rsplit("/", 1)[-1])
                return SpanShape(name=f"invoke_agent {span.name}", kind="internal", attributes=attributes)
            case "chat":
                assert isinstance(span.event, ModelCalled)
                return self._chat(span.event)
            case _:
                assert isinstance(span.event, ToolCalled)
                return self._tool(span.event)

    def _run(self, span: Span) -> SpanShape:
        name = agent_name_of_graph(span.name)
        attributes = self._common("invoke_agent") | {
            "gen_ai.agent.name": name,
            "agentflow.run_id": self.run_id,
            "agentflow.graph": span.name,
            "agentflow.segment": int(span.key.rsplit("/", 1)[-1]),
        }
        final = span.event
        error_message = None
        if isinstance(final, RunFinished):
            usage = final.usage or {}
            attributes["agentflow.status"] = str(final.status)
            attributes["gen_ai.usage.input_tokens"] = int(usage.get("input_tokens", 0))
            attributes["gen_ai.usage.output_tokens"] = int(usage.get("output_tokens", 0))
            for key in ("steps", "tool_calls", "cost_usd", "wall_s"):
                if key in usage:
                    attributes[f"agentflow.usage.{key}"] = usage[key]
            if final.budget:
                attributes["agentflow.budget_exhausted"] = final.budget
            if self.include_content and final.output is not None:
                attributes["agentflow.output"] = _json(final.output)
            if final.error and self.include_content:
                error_message = final.error.get("message")
        if span.error:
            attributes["error.type"] = span.error
        events = [self._mark(m.event, m.at) for m in span.marks]
        return SpanShape(
            name=f"invoke_agent {name}",
            kind="internal",
            attributes=attributes,
            events=[e for e in events if e is not None],
            error=span.error,
            error_message=error_message,
        )

    def _mark(self, event: Any, at: float) -> tuple[str, float, dict[str, AttributeValue]] | None:
        match event:
            case ApprovalDecided():
                attrs: dict[str, AttributeValue] = {
                    "gen_ai.tool.call.id": event.call_id,
                    "gen_ai.tool.name": event.tool,
                    "agentflow.approval.action": str(event.decision.get("action", "")),
                }
                if self.include_content:
                    attrs["agentflow.approval.decision"] = _json(event.decision)
                return "agentflow.approval", at, attrs
            case RunResumed():
                return (
                    "agentflow.resumed",
                    at,
                    {"agentflow.previous_status": event.previous_status, "agentflow.crashed": event.crashed},
                )
            case RunErrored():
                attrs = {"exception.type": event.error_type}
                if self.include_content:
                    attrs["exception.message"] = event.message
                return "exception", at, attrs
        return None

    def _chat(self, event: ModelCalled) -> SpanShape:
        full = self._history.full(event)
        attributes = self._common("chat") | {
            "gen_ai.request.model": event.model,
            "gen_ai.provider.name": event.model.split(":", 1)[0],
            "gen_ai.agent.name": event.agent,
            "gen_ai.usage.input_tokens": event.input_tokens,
            "gen_ai.usage.output_tokens": event.output_tokens,
            "gen_ai.response.finish_reasons": ["tool_call" if event.decision.get("tool_calls") else "stop"],
            "agentflow.step": event.step,
            "agentflow.cost_usd": event.cost_usd,
        }
        for key in ("temperature", "top_p", "max_tokens", "seed"):
            value = event.settings.get(key)
            if value is not None:
                attributes[f"gen_ai.request.{key}"] = value
        if event.engine:
            attributes["agentflow.engine"] = event.engine
        if self.include_content:
            attributes["gen_ai.input.messages"] = _messages(full)
            attributes["gen_ai.output.messages"] = _output(event.decision)
        return SpanShape(name=f"chat {event.model}", kind="client", attributes=attributes)

    def _tool(self, event: ToolCalled) -> SpanShape:
        attributes = self._common("execute_tool") | {
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.call.id": event.call_id,
            "gen_ai.tool.type": "function",
            "gen_ai.agent.name": event.agent,
            "agentflow.step": event.step,
            "agentflow.attempts": event.attempts,
        }
        if event.by_human:
            attributes["agentflow.by_human"] = True
        error = (event.error_type or "ToolError") if event.is_error else None
        if error:
            attributes["error.type"] = error
        if self.include_content:
            attributes["gen_ai.tool.call.arguments"] = _json(event.arguments)
            attributes["gen_ai.tool.call.result"] = event.content
        return SpanShape(
            name=f"execute_tool {event.tool}",
            kind="internal",
            attributes=attributes,
            error=error,
            error_message=event.content if (error and self.include_content) else None,
        )
