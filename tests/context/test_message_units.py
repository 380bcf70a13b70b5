"""Cutting a conversation: over random histories, what is kept never separates a tool call from its results,
always keeps the system prompt and the task, keeps the original order and fits the budget when it can."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st

from agentflow.context import check_pairing, fit, missing_results, split
from agentflow.messages import Message


def _count(message: Message) -> int:
    return len(message.get("content") or "") // 4 + 4


@st.composite
def histories(draw: Any) -> list[Message]:
    """system, task, then random turns: tool-calling turns with their results (in any order), answers,
    follow-up user messages, and now and then a stray tool result."""
    messages: list[Message] = [
        {"role": "system", "content": "sys " * draw(st.integers(1, 30))},
        {"role": "user", "content": "task " * draw(st.integers(1, 30))},
    ]
    for turn in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["tools", "tools", "tools", "answer", "user", "orphan"]))
        size = draw(st.integers(0, 200))
        if kind == "tools":
            ids = [f"call_{turn}_{i}" for i in range(draw(st.integers(1, 3)))]
            messages.append(
                {
                    "role": "assistant",
                    "content": "x" * size,
                    "tool_calls": [{"id": i, "name": "t", "arguments": {}} for i in ids],
                }
            )
            for i in draw(st.permutations(ids)):
                messages.append(
                    {"role": "tool", "content": "r" * draw(st.integers(0, 400)), "tool_call_id": i}
                )
        elif kind == "answer":
            messages.append({"role": "assistant", "content": "a" * size})
        elif kind == "user":
            messages.append({"role": "user", "content": "u" * size})
        else:
            messages.append({"role": "tool", "content": "stray", "tool_call_id": f"nobody_{turn}"})
    return messages


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 2000))
def test_cuts_keep_pairs_pins_order_and_budget(messages: list[Message], budget: int) -> None:
    """Any cut keeps system prompt, task and last user message; no tool result without its call and no call
    without its results; a subsequence in order; within budget whenever the pinned messages and the newest
    unit fit."""
    kept, first = fit(messages, budget, _count)
    assert check_pairing(kept) is None
    assert missing_results(messages, kept) == []
    assert kept[0] is messages[0] and kept[1] is messages[1]
    users = [m for m in messages if m["role"] == "user"]
    assert users[-1] in kept
    positions = [next(j for j, m in enumerate(messages) if m is k) for k in kept]
    assert positions == sorted(positions)
    s = split(messages)
    pinned = sum(_count(messages[j]) for j in s.pinned)
    newest = sum(_count(messages[j]) for j in s.units[-1]) if s.units else 0
    if pinned + newest <= budget:
        assert sum(_count(m) for m in kept) <= budget
    kept_at = {j for j, m in enumerate(messages) if any(m is k for k in kept)}
    assert kept_at == set(s.pinned) | {j for unit in s.units[first:] for j in unit}  # a suffix of units
    assert not s.units or first <= len(s.units) - 1  # the newest unit is always kept


@given(histories())
def test_a_generous_budget_drops_only_stray_results(messages: list[Message]) -> None:
    """With room for everything, only tool results without a call are left out."""
    kept, first = fit(messages, 10**9, _count)
    assert first == 0
    assert kept == [m for j, m in enumerate(messages) if j not in split(messages).orphans]


def test_check_pairing_names_the_problem() -> None:
    """A result without its call, or a call without its results, is reported with its position."""
    call = {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "t", "arguments": {}}]}
    result = {"role": "tool", "content": "ok", "tool_call_id": "c1"}
    user = {"role": "user", "content": "next"}
    assert check_pairing([call, result, user]) is None  # type: ignore[list-item]
    assert check_pairing([call]) is None  # type: ignore[list-item]  # still waiting for its result
    assert check_pairing([result]) == "message 0: tool result 'c1' without its call"  # type: ignore[list-item]
    assert check_pairing([call, user]) == "message 0: tool call 'c1' without its result"  # type: ignore[list-item]
