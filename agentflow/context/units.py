"""A conversation as units that can be dropped without breaking it.

- *Pinned*: the leading system messages (the system prompt) and the first user message (the task) — never
  dropped; the last user message (the current request of a multi-turn conversation) too.
- A *unit* is one message, except that an assistant turn that calls tools and the tool results answering
  those calls are one unit: a result never stays without its call, nor a call without its results.
- A tool result whose call is nowhere before it is an orphan: providers reject it, so it is always dropped.

Trimming keeps the pinned messages and a suffix of the units (the newest ones), in their original order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agentflow.messages import Message

__all__ = ["Split", "check_pairing", "fit", "missing_results", "split", "trimmed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Split:
    """`pinned`: indices never dropped; `units`: the other messages' indices grouped, oldest first;
    `orphans`: tool results without a call."""

    pinned: list[int]
    units: list[list[int]]
    orphans: list[int]


def _call_ids(message: Message) -> list[str]:
    return [str(c.get("id", "")) for c in message.get("tool_calls") or []]


def split(messages: Sequence[Message]) -> Split:
    pinned: list[int] = []
    i = 0
    while i < len(messages) and messages[i]["role"] == "system":
        pinned.append(i)
        i += 1
    users = [j for j, m in enumerate(messages) if m["role"] == "user"]
    pinned += [j for j in (users[:1] + users[-1:]) if j not in pinned]
    owner: dict[str, int] = {}  # call id -> the unit of the assistant turn that made it
    units: list[list[int]] = []
    orphans: list[int] = []
    for j, message in enumerate(messages):
        if j in pinned:
            continue
        if message["role"] == "tool":
            unit = owner.get(str(message.get("tool_call_id", "")))
            if unit is None:
                orphans.append(j)
            else:
                units[unit].append(j)
            continue
        units.append([j])
        if message["role"] == "assistant":
            for call_id in _call_ids(message):
                owner[call_id] = len(units) - 1
    return Split(pinned=sorted(pinned), units=units, orphans=orphans)


def trimmed(messages: Sequence[Message], keep_from: int, s: Split | None = None) -> list[Message]:
    """The pinned messages and the units from number `keep_from` on, in the original order."""
    s = s or split(messages)
    keep = set(s.pinned)
    for unit in s.units[keep_from:]:
        keep.update(unit)
    return [m for j, m in enumerate(messages) if j in keep]


def check_pairing(messages: Sequence[Message]) -> str | None:
    """What is wrong with `messages` as a prompt (a result without its call, a call without results), or
    None. A call whose result is not in `messages` at all counts only if a later message exists (a turn
    still waiting for its results is the last one)."""
    calls: dict[str, int] = {}
    answered: set[str] = set()
    for j, message in enumerate(messages):
        if message["role"] == "assistant":
            for call_id in _call_ids(message):
                calls[call_id] = j
        elif message["role"] == "tool":
            call_id = str(message.get("tool_call_id", ""))
            if call_id not in calls:
                return f"message {j}: tool result {call_id!r} without its call"
            answered.add(call_id)
    last = len(messages) - 1
    for call_id, j in calls.items():
        if call_id not in answered and j != last:
            return f"message {j}: tool call {call_id!r} without its result"
    return None


def missing_results(original: Sequence[Message], kept: Sequence[Message]) -> list[str]:
    """Call ids whose assistant turn is in `kept` while a result for them in `original` is not."""
    results = {str(m.get("tool_call_id")) for m in original if m["role"] == "tool"}
    kept_results = {str(m.get("tool_call_id")) for m in kept if m["role"] == "tool"}
    kept_calls = {c for m in kept if m["role"] == "assistant" for c in _call_ids(m)}
    return sorted((kept_calls & results) - kept_results)


def fit(
    messages: Sequence[Message], budget: int, count: Callable[[Message], int], *, start: int = 0
) -> tuple[list[Message], int]:
    """The pinned messages and the longest suffix of units (from unit `start` on at most) whose tokens fit
    `budget` — at least the newest unit, even when it alone does not fit. Returns (messages, first kept unit)."""
    s = split(messages)
    pinned = sum(count(messages[j]) for j in s.pinned)
    sizes = [sum(count(messages[j]) for j in unit) for unit in s.units]
    first = min(start, max(len(s.units) - 1, 0))
    kept = sum(sizes[first:])
    while first < len(s.units) - 1 and pinned + kept > budget:
        kept -= sizes[first]
        first += 1
    return trimmed(messages, first, s), first
