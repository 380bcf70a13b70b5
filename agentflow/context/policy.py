"""`ContextPolicy`: what a model node does when its conversation nears the model's context window.

    react_graph(tools, context=ContextPolicy.keep_last())                 # drop the oldest turns
    react_graph(tools, context=ContextPolicy.summarize())                 # ... and summarise them
    react_graph(tools, context=ContextPolicy.custom(my_function))         # your own rule

Before each decision the node measures the prompt (the model's tokenizer where it has one, else ~4
characters a token; plus the tools' schemas and a `reserve` for the reply). Above `trigger` x the window it
cuts older turns until the prompt is under `target` x the window — never the system prompt or the task,
never a tool call without its results (`units.py`). The cut then stays put until the prompt grows past the
trigger again, so consecutive prompts share their beginning (fewer summaries, stable traces). `summarize`
folds what it cut, with its previous summary, into a summary appended to the system prompt, asking the
model of role "summarizer" (`--model summarizer=SPEC`), else the policy's `model`, else the node's. Each cut
is recorded in the trace as a `ContextTrimmed` event. The graph state keeps the whole conversation: only
what the model is sent is cut. A cut made before a crash is made again (and summarised again) on resume.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agentflow.context.tokens import Counter, counter_for, estimate_tokens, total, window_of
from agentflow.context.units import Split, check_pairing, fit, missing_results, split, trimmed
from agentflow.exceptions import ConfigError
from agentflow.messages import Message

__all__ = ["ContextPolicy", "CustomTrim"]

#: a user function: (messages, token budget, per-message counter) -> the messages to send
CustomTrim = Callable[[list[Message], int, Counter], "list[Message] | Awaitable[list[Message]]"]

SUMMARY_HEADER = "Summary of the earlier conversation:"
_SUMMARIZE_PROMPT = (
    "You keep the memory of a long agent conversation. Merge the previous summary (if any) and the older "
    "turns below into one short summary: the facts found, tool results that matter, decisions made and what "
    "is still open. Answer with the summary only."
)


@dataclass(frozen=True, slots=True)
class _Cut:
    units_from: int  # units before this index are out of the prompt
    summary: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextPolicy:
    """A declared rule for long conversations (see the module doc). `max_tokens`: the context window (default:
    the model's own, e.g. `max_position_embeddings`); `trigger` / `target`: fractions of it; `reserve`:
    tokens kept free for the reply."""

    kind: str = "keep_last"
    max_tokens: int | None = None
    trigger: float = 0.85
    target: float = 0.6
    reserve: int = 512
    model: Any = None
    function: CustomTrim | None = None
    summary_chars: int = 1500

    def __post_init__(self) -> None:
        if self.kind not in ("keep_last", "summarize", "custom"):
            raise ConfigError(f"context policy {self.kind!r}: choose keep_last, summarize or custom")
        if not 0 < self.target <= self.trigger <= 1:
            raise ConfigError(
                f"context policy: need 0 < target <= trigger <= 1 (got target {self.target}, trigger {self.trigger})"
            )
        if self.max_tokens is not None and self.max_tokens <= self.reserve:
            raise ConfigError(
                f"context policy: max_tokens {self.max_tokens} leaves nothing after reserve {self.reserve}"
            )
        if self.kind == "custom" and not callable(self.function):
            raise ConfigError(
                "a custom context policy needs a function (messages, budget, count) -> messages"
            )

    @classmethod
    def keep_last(cls, **options: Any) -> ContextPolicy:
        """Drop the oldest turns."""
        return cls(kind="keep_last", **options)

    @classmethod
    def summarize(cls, model: Any = None, **options: Any) -> ContextPolicy:
        """Drop the oldest turns and keep a summary of them (made by `model`, or the "summarizer" role's)."""
        return cls(kind="summarize", model=model, **options)

    @classmethod
    def custom(cls, function: CustomTrim, **options: Any) -> ContextPolicy:
        """`function(messages, budget, count)` returns what to send (checked: system prompt, task, pairs)."""
        return cls(kind="custom", function=function, **options)

    # ------------------------------------------------------------------------------------------- applying

    async def apply(
        self, messages: list[Message], *, role: str, tools: Sequence[Any] = (), model: Any = None
    ) -> list[Message]:
        """The messages to send for this decision (inside a model node)."""
        from agentflow.runtime.services import agent_label, services

        svc = services()
        agent = agent_label(role)
        node_model = svc.model_for(role, model)
        window = self.max_tokens or window_of(node_model)
        if window is None:
            raise ConfigError(
                f"context policy of agent {agent!r}: the model {node_model.spec} reports no context window; "
                "give one: ContextPolicy.keep_last(max_tokens=...)"
            )
        count, _ = counter_for(node_model)
        specs = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]
        overhead = estimate_tokens(json.dumps(specs)) if specs else 0
        budget = max(1, window - self.reserve - overhead)
        s = split(messages)
        cut: _Cut = svc.windows.get(agent) or _Cut(0)
        if cut.units_from > len(s.units):  # a different conversation (a fork, a reset): start over
            cut = _Cut(0)
        current = self._render(messages, s, cut)
        before = total(current, count)
        if before <= self.trigger * budget:
            return current
        if self.kind == "custom":
            return await self._custom(messages, s, budget, count, svc, agent, window, before)
        new = self._next_cut(messages, s, cut, budget, count)
        summary_tokens = 0
        if self.kind == "summarize" and new.units_from > cut.units_from:
            text, summary_tokens = await self._summarise(messages, s, cut, new.units_from, svc, node_model)
            new = replace(new, summary=text)
        elif self.kind == "summarize":
            new = replace(new, summary=cut.summary)
        svc.windows[agent] = new
        result = self._render(messages, s, new)
        await self._record(
            svc, agent, window, messages, current, result, before, total(result, count), new, summary_tokens
        )
        return result

    def _render(self, messages: list[Message], s: Split, cut: _Cut) -> list[Message]:
        kept = trimmed(messages, cut.units_from, s)
        if cut.summary:
            note = f"{SUMMARY_HEADER}\n{cut.summary}"
            if kept and kept[0]["role"] == "system":
                kept[0] = {**kept[0], "content": f"{kept[0]['content']}\n\n{note}"}
            else:
                kept.insert(0, {"role": "system", "content": note})
        return kept

    def _next_cut(self, messages: list[Message], s: Split, cut: _Cut, budget: int, count: Counter) -> _Cut:
        """The smallest cut at or after the current one that brings the prompt under target (at most all but
        the newest unit)."""
        summary = 0 if self.kind == "keep_last" else self.summary_chars // 4
        target = max(1, int(self.target * budget) - summary)
        _, start = fit(messages, target, count, start=cut.units_from)
        return _Cut(start, cut.summary)

    async def _summarise(
        self, messages: list[Message], s: Split, cut: _Cut, upto: int, svc: Any, node_model: Any
    ) -> tuple[str, int]:
        from agentflow.messages import system_message, user_message
        from agentflow.models.base import ModelRequest

        lines = [f"Previous summary: {cut.summary}"] if cut.summary else []
        for unit in s.units[cut.units_from : upto]:
            for j in unit:
                m = messages[j]
                content = m.get("content") or json.dumps(m.get("tool_calls"), ensure_ascii=False)
                label = f"tool {m.get('name', '')}" if m["role"] == "tool" else m["role"]
                lines.append(f"{label}: {str(content)[:600]}")
        model = (
            self.model
            if self.model is not None and "summarizer" not in svc.models
            else svc.model_for("summarizer", node_model)
        )
        svc.tracker.check_before_model()
        request = ModelRequest(
            messages=[system_message(_SUMMARIZE_PROMPT), user_message("\n".join(lines))],
            final_schema={"type": "string", "maxLength": self.summary_chars},
            settings=svc.settings,
            role="summarizer",
        )
        response = await model.decide(request)
        svc.tracker.record_tokens(model.spec, response.usage.input_tokens, response.usage.output_tokens)
        answer = response.decision.final_answer
        text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        return text[: self.summary_chars], response.usage.input_tokens + response.usage.output_tokens

    async def _custom(
        self,
        messages: list[Message],
        s: Split,
        budget: int,
        count: Counter,
        svc: Any,
        agent: str,
        window: int,
        before: int,
    ) -> list[Message]:
        assert self.function is not None
        result = self.function(list(messages), budget, count)
        if inspect.isawaitable(result):
            result = await result
        kept = list(result)
        kept_ids = {id(m) for m in kept}
        lost = [j for j in s.pinned if id(messages[j]) not in kept_ids and messages[j] not in kept]
        problem = check_pairing(kept) or (
            f"tool call(s) {', '.join(missing)} kept without their results"
            if (missing := missing_results(messages, kept))
            else None
        )
        if lost or problem:
            what = "dropped the system prompt or the task" if lost else problem
            raise ConfigError(f"the custom context policy of agent {agent!r} {what}")
        if len(kept) != len(messages):
            cut = _Cut(0)
            await self._record(
                svc, agent, window, messages, messages, kept, before, total(kept, count), cut, 0
            )
        return kept

    async def _record(
        self,
        svc: Any,
        agent: str,
        window: int,
        messages: list[Message],
        current: list[Message],
        result: list[Message],
        before: int,
        after: int,
        cut: _Cut,
        summary_tokens: int,
    ) -> None:
        from agentflow.events import ContextTrimmed

        await svc.record(
            ContextTrimmed(
                run_id=svc.run_id,
                agent=agent,
                step=svc.tracker.usage.steps + 1,
                policy=self.kind,
                window=window,
                tokens_before=before,
                tokens_after=after,
                messages_before=len(messages),
                messages_after=len(result),
                dropped=len(messages) - len(result),
                summary=cut.summary if self.kind == "summarize" else None,
                summary_tokens=summary_tokens,
            )
        )
