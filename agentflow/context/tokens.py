"""Measuring a prompt: tokens by the model's own tokenizer where it has one (`count_tokens(text)`, e.g.
`transformers:` models), else an estimate of 4 characters a token; the context window from the model
(`context_window`, e.g. from its config.json) unless the policy names one."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from agentflow.messages import Message

__all__ = ["MESSAGE_OVERHEAD", "Counter", "counter_for", "estimate_tokens", "window_of"]

MESSAGE_OVERHEAD = 4  # role markers and separators a chat template adds around each message

Counter = Callable[[Message], int]


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _text(message: Message) -> str:
    text = message.get("content") or ""
    if message.get("tool_calls") and not text:
        text = json.dumps(message.get("tool_calls"), ensure_ascii=False)
    return str(text)


def counter_for(model: Any) -> tuple[Counter, str]:
    """A per-message token counter for `model` and what it measures with ("tokenizer" or "estimate")."""
    count = getattr(model, "count_tokens", None)
    if callable(count):
        cache: dict[str, int] = {}

        def by_tokenizer(message: Message) -> int:
            text = _text(message)
            if text not in cache:
                cache[text] = int(count(text))
            return cache[text] + MESSAGE_OVERHEAD

        return by_tokenizer, "tokenizer"
    return (lambda message: estimate_tokens(_text(message)) + MESSAGE_OVERHEAD), "estimate"


def window_of(model: Any) -> int | None:
    window = getattr(model, "context_window", None)
    return int(window) if isinstance(window, int) and window > 0 else None


def total(messages: Sequence[Message], count: Counter) -> int:
    return sum(count(m) for m in messages)
