"""Episodic memory: a finished run summarised into the store, so later runs can recall what happened.

    key = await remember_run(storage, run_id, namespace=("episodes", "{user_id}"))

The episode is a memory (`kind: "episode"`, keyed by the run id, so remembering a run twice updates it) whose
text says what was asked, how it ended and which tools were used. `summarize` replaces the default text: a
function `(record, events) -> str` (sync or async) or a `Model`, asked for a short summary as its final
answer (role "summarizer"). The namespace template is filled from the run's own context values.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from agentflow.memory.namespaces import fill_namespace

__all__ = ["episode_text", "remember_run"]

_CUT = 400


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _CUT else text[: _CUT - 1] + "…"


def episode_text(record: Any, events: Sequence[Any]) -> str:
    """The default summary: request, outcome, tools used, steps."""
    tools = Counter(e.data.get("tool") for e in events if e.kind == "tool_called" and e.data.get("tool"))
    steps = sum(1 for e in events if e.kind == "model_called")
    parts = [f"Request: {_short(record.input)}"]
    status = str(record.status)
    if record.output is not None:
        parts.append(f"Outcome: {status}; answer: {_short(record.output)}")
    elif record.error:
        parts.append(
            f"Outcome: {status}; error: {record.error.get('type')}: {_short(record.error.get('message'))}"
        )
    else:
        parts.append(
            f"Outcome: {status}" + (f" ({record.budget_exhausted} budget)" if record.budget_exhausted else "")
        )
    if tools:
        parts.append(
            "Tools: " + ", ".join(f"{name} x{n}" if n > 1 else str(name) for name, n in tools.items())
        )
    parts.append(f"Steps: {steps}")
    return ". ".join(parts)


async def _summary(summarize: Any, record: Any, events: Sequence[Any]) -> str:
    if summarize is None:
        return episode_text(record, events)
    if hasattr(summarize, "decide"):
        from agentflow.messages import system_message, user_message
        from agentflow.models.base import ModelRequest

        transcript = episode_text(record, events)
        request = ModelRequest(
            messages=[
                system_message("Summarise this agent run in two sentences for a memory of past work."),
                user_message(transcript),
            ],
            final_schema={"type": "string", "maxLength": 600},
            role="summarizer",
        )
        response = await summarize.decide(request)
        return str(response.decision.final_answer)
    result = summarize(record, events)
    if inspect.isawaitable(result):
        result = await result
    return str(result)


async def remember_run(
    storage: Any,
    run_id: str,
    *,
    namespace: Sequence[str] = ("episodes",),
    summarize: Any = None,
) -> str:
    """Summarise the run `run_id` of `storage` into its store; returns the episode's key (the run id)."""
    record = await storage.get_run(run_id)
    events = await storage.events(record.id)
    text = await _summary(summarize, record, events)
    ns = fill_namespace(tuple(namespace), record.context)
    value = {
        "text": text,
        "kind": "episode",
        "run_id": record.id,
        "graph": record.graph,
        "status": str(record.status),
        "created_at": record.created_at,
    }
    store = storage.store
    if getattr(store, "embedder", None) is not None and hasattr(store, "aflush"):
        await store.aput(ns, record.id, value, embed_later=True)
    else:
        await store.aput(ns, record.id, value)
    return str(record.id)
