"""agentflow's prompt format: how a `ModelRequest` becomes chat turns and, for local models, text.

The format is part of the contract with local models (the bundled demo model is trained on it):

- the system turn holds the graph's system prompt, then one line per tool with its JSON argument schema,
  then the reply instructions;
- assistant turns are the decisions as compact JSON;
- tool observations are user turns `Observation <call id> (<tool>): <content>` (chat templates of small
  models rarely know a `tool` role).

`to_text` uses the tokenizer's chat template when it has one, else the plain template below.
"""

from __future__ import annotations

import json
from typing import Any

from agentflow.messages import Message
from agentflow.models.base import ModelRequest, ToolSpec

__all__ = ["PLAIN_TEMPLATE_MARKERS", "render_chat", "to_text", "tools_block"]

PLAIN_TEMPLATE_MARKERS = {"system": "<|system|>\n", "user": "<|user|>\n", "assistant": "<|assistant|>\n"}

_INSTRUCTIONS = (
    'Reply with one JSON object. To use tools: {"reasoning": "...", "tool_calls": [{"name": "...", '
    '"arguments": {...}}]}. To answer: {"reasoning": "...", "final_answer": ...}.'
)

_REFUSAL = ' To decline a request no tool serves: {"reasoning": "...", "refuse": true}.'


def tools_block(tools: list[ToolSpec]) -> str:
    if not tools:
        return "You have no tools."
    lines = ["Tools:"]
    for tool in tools:
        schema = json.dumps(tool.parameters, separators=(",", ":"), sort_keys=True)
        lines.append(f"- {tool.name}: {tool.description} Arguments: {schema}")
    return "\n".join(lines)


def _content(message: Message) -> str:
    if message["role"] == "tool":
        return (
            f"Observation {message.get('tool_call_id', '')} ({message.get('name', '')}): {message['content']}"
        )
    return message["content"]


def render_chat(request: ModelRequest) -> list[dict[str, str]]:
    """The request as chat turns (`role` in system/user/assistant), tools and instructions in the system turn."""
    system_parts: list[str] = []
    turns: list[dict[str, str]] = []
    for message in request.messages:
        if message["role"] == "system":
            system_parts.append(message["content"])
            continue
        role = "assistant" if message["role"] == "assistant" else "user"
        content = _content(message)
        if turns and turns[-1]["role"] == role == "user":
            turns[-1]["content"] += "\n" + content  # parallel observations: one user turn
        else:
            turns.append({"role": role, "content": content})
    system_parts.append(tools_block(request.tools))
    if request.final_schema is not None:
        system_parts.append(
            "final_answer must match: " + json.dumps(request.final_schema, separators=(",", ":"))
        )
    system_parts.append(_INSTRUCTIONS + (_REFUSAL if request.refusal is not None else ""))
    return [{"role": "system", "content": "\n\n".join(p for p in system_parts if p)}, *turns]


def to_text(chat: list[dict[str, str]], tokenizer: Any | None = None) -> str:
    """Chat turns as one prompt string ending where the assistant's reply begins."""
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    parts = [PLAIN_TEMPLATE_MARKERS[t["role"]] + t["content"] + "\n" for t in chat]
    return "".join(parts) + PLAIN_TEMPLATE_MARKERS["assistant"]
