"""The conversation and the model's decision.

Messages are plain dicts (`Message`), so graph state checkpoints as JSON-like data and a forked run can edit
it by hand. A model's output is a `Decision` (pydantic: it is a boundary): short reasoning, then tool calls or
a final answer.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Decision",
    "Message",
    "ToolCall",
    "Usage",
    "assistant_message",
    "latest_user_text",
    "system_message",
    "tool_message",
    "user_message",
]

Role = Literal["system", "user", "assistant", "tool"]


class Message(TypedDict):
    """One conversation turn. `tool` messages carry the observation of the call `tool_call_id`."""

    role: Role
    content: str
    tool_calls: NotRequired[list[dict[str, Any]]]
    tool_call_id: NotRequired[str]
    name: NotRequired[str]
    is_error: NotRequired[bool]
    reasoning: NotRequired[str]
    decision_id: NotRequired[str]


class ToolCall(BaseModel):
    """A call the model asked for. `id` is assigned by agentflow (deterministic per step)."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str = ""


class Decision(BaseModel):
    """What a model decided at one step: reasoning, then tool calls *or* a final answer."""

    model_config = ConfigDict(frozen=True)

    reasoning: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    final_answer: Any = None

    @model_validator(mode="after")
    def _one_kind(self) -> Decision:
        if self.tool_calls and self.final_answer is not None:
            raise ValueError("a decision has either tool_calls or a final_answer, not both")
        if not self.tool_calls and self.final_answer is None:
            raise ValueError("a decision needs tool_calls or a final_answer")
        return self

    @property
    def is_final(self) -> bool:
        return not self.tool_calls


class Usage(BaseModel):
    """Tokens one model call consumed."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0


def system_message(content: str) -> Message:
    return {"role": "system", "content": content}


def user_message(content: str) -> Message:
    return {"role": "user", "content": content}


def assistant_message(decision: Decision, text: str) -> Message:
    """The assistant turn for `decision`; `text` is what the model emitted (the decision as JSON)."""
    msg: Message = {"role": "assistant", "content": text}
    if decision.tool_calls:
        msg["tool_calls"] = [c.model_dump() for c in decision.tool_calls]
        msg["reasoning"] = decision.reasoning
    return msg


def tool_message(call: ToolCall, content: str, *, is_error: bool = False) -> Message:
    return {
        "role": "tool",
        "content": content,
        "tool_call_id": call.id,
        "name": call.name,
        "is_error": is_error,
    }


def latest_user_text(messages: list[Message]) -> str | None:
    """The content of the latest user turn (the request quoted arguments are copied from), None if there is
    none."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message.get("content", "")
    return None
