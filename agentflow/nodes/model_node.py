"""The model node and routing, usable in any LangGraph `StateGraph` over `AgentState` (see also `ToolNode`).

- `ModelNode`: one model decision (a step). Checks the budget first, records the call in the trace.
- `route_after_model`: to the tool node when the last decision called tools, else to the end.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

import anyio
from langgraph.graph import END

from agentflow.context.policy import ContextPolicy
from agentflow.events import ModelCalled, ModelOffer, StepStarted, now_iso
from agentflow.exceptions import ConfigError, ModelError
from agentflow.failpoints import failpoint
from agentflow.messages import Decision, Message, assistant_message, system_message, user_message
from agentflow.models.base import Model, ModelRequest
from agentflow.nodes.state import AgentState
from agentflow.runtime.journal import DECISION
from agentflow.runtime.services import agent_label, current_task, services
from agentflow.tooling.source import ToolSource, split_tools
from agentflow.tooling.tool import Tool

__all__ = ["DEFAULT_SYSTEM_PROMPT", "ModelNode", "input_text", "model_step", "offer_of", "route_after_model"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful assistant. Use the tools to get facts and do arithmetic; never guess what a tool can "
    "tell you. When you have the answer, give it."
)


def _common_prefix(before: list[Message], now: list[Message]) -> int:
    n = 0
    for a, b in zip(before, now, strict=False):
        if a is not b and a != b:
            break
        n += 1
    return n


def _traced(message: Message, svc: Any) -> dict[str, Any]:
    """A message as the trace stores it: an assistant turn whose decision the trace already holds (its
    `model_called` event, by task) is stored as a reference to it, not a second time."""
    task = message.get("decision_id")
    if message["role"] == "assistant" and task and svc.journal.get(task, DECISION) is not None:
        return {"role": "assistant", "decision_ref": task}
    return dict(message)


def input_text(value: Any) -> str:
    """A run input as the text of a user turn (JSON for structured input)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def model_step(
    messages: list[Message],
    *,
    role: str,
    tools: Sequence[Tool] = (),
    final_schema: dict[str, Any] | None = None,
    model: Model | None = None,
    refusal: str | None = None,
) -> tuple[Decision, str, str]:
    """One model decision (a step) inside a node: budget check, the model for `role`, trace events, and the
    decision journal (a node re-run after a crash or a pause reuses its decision instead of deciding again).
    With `refusal`, the model may refuse (the decision's answer is then that fixed text).
    Returns (decision, raw text, the decision's task id). At most one call per node execution."""
    svc = services()
    svc.tracker.check_before_model()
    if svc.toolset is not None:
        svc.toolset.raise_if_changed()  # a tool source changed a tool in use: stop before the model uses it
    model = svc.model_for(role, model)
    agent = agent_label(role)
    task = current_task()
    recorded = svc.journal.get(task, DECISION)
    if recorded is not None:
        # this model task already decided before a crash: reuse the decision, so its tool calls keep their
        # identity (and a call that ran is not run again)
        step = svc.journal.step_of(task) or svc.tracker.usage.steps + 1
        await svc.record(StepStarted(run_id=svc.run_id, agent=agent, step=step))
        return Decision.model_validate(recorded["outcome"]["decision"]), recorded["outcome"]["raw"], task
    step = svc.tracker.start_step()
    await svc.record(StepStarted(run_id=svc.run_id, agent=agent, step=step))
    request = ModelRequest(
        messages=messages,
        tools=[t.spec for t in tools],
        final_schema=final_schema,
        settings=svc.settings,
        step=step,
        role=role,
        refusal=refusal,
    )
    offer = await _record_offer(svc, request)
    started_at = now_iso()
    started = time.perf_counter()
    try:
        response = await model.decide(request)
    except anyio.get_cancelled_exc_class():
        svc.tracker.cancel_step(step)  # no decision was made: resuming makes it as this same step
        raise
    except ModelError as exc:  # tokens spent on failed attempts (e.g. invalid outputs retried) still count
        spent = getattr(exc, "usage", None)
        if spent is not None:
            svc.tracker.record_tokens(model.spec, spent.input_tokens, spent.output_tokens)
        raise
    latency = time.perf_counter() - started
    cost = svc.tracker.record_tokens(model.spec, response.usage.input_tokens, response.usage.output_tokens)
    decision, raw_text = response.decision, response.raw_text
    _learn_sensitive_arguments(svc, tools, decision)
    shared = _common_prefix(svc.sent_messages.get(agent, []), messages)
    svc.sent_messages[agent] = messages
    event = ModelCalled(
        run_id=svc.run_id,
        agent=agent,
        step=step,
        model=model.spec,
        messages=[_traced(m, svc) for m in messages[shared:]],
        messages_from=shared,
        raw_text=raw_text,
        decision=decision.model_dump(mode="json"),
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
        cost_usd=cost,
        latency_s=latency,
        ts=started_at,
        duration_s=latency,
        settings=svc.settings.as_dict(),
        task=task,
        offer=offer,
        engine=response.engine,
    )
    svc.journal.remember_decision(task, event.decision, raw_text, step)  # the event is its durable record
    await svc.record(event)
    failpoint("after_decision")
    return decision, raw_text, task


def _learn_sensitive_arguments(svc: Any, tools: Sequence[Tool], decision: Decision) -> None:
    """Before the decision is recorded anywhere: the values of arguments its calls' tools mark sensitive."""
    sensitive = {t.name: t.sensitive for t in tools if t.sensitive}
    for call in decision.tool_calls if sensitive else ():
        for name in sensitive.get(call.name, ()):
            if name in call.arguments:
                svc.redactor.add(call.arguments[name])


def offer_of(request: ModelRequest) -> tuple[str, list[dict[str, Any]]]:
    """What a request offers the model (the tools' specs, with the final-answer schema) and its digest."""
    tools = [
        {"name": t.name, "description": t.description, "parameters": t.parameters} for t in request.tools
    ]
    text = json.dumps([tools, request.final_schema], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16], tools


async def _record_offer(svc: Any, request: ModelRequest) -> str:
    """Trace what the model is offered, once per distinct offer; return its digest."""
    digest, tools = offer_of(request)
    if digest not in svc.offers:
        svc.offers.add(digest)
        await svc.record(
            ModelOffer(
                run_id=svc.run_id,
                agent=agent_label(request.role),
                digest=digest,
                tools=tools,
                final_schema=request.final_schema,
            )
        )
    return digest


class ModelNode:
    """Ask the model for the next decision. `role` picks a per-role model override (`--model ROLE=SPEC`);
    `context` cuts older turns when the conversation nears the model's context window.

    `refusal` offers the model a way to decline: a decision `{"reasoning": ..., "refuse": true}` whose final
    answer is this fixed text (not generated, so never garbled or made up). It must be a valid final answer.
    """

    def __init__(
        self,
        tools: Sequence[Tool | ToolSource] = (),
        *,
        model: Model | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        final_schema: dict[str, Any] | None = None,
        role: str = "agent",
        context: ContextPolicy | None = None,
        refusal: str | None = None,
    ) -> None:
        self.tools, self.tool_sources = split_tools(tools)
        self.local_tools = self.tools  # (what `graph_sources` checks source tools' names against)
        self.context = context
        self.model = model
        self.system_prompt = system_prompt
        self.final_schema = final_schema
        self.role = role
        self.model_roles = [role]  # (what `--model ROLE=SPEC` may name: agentflow.graph_walk)
        self.refusal = _checked_refusal(refusal, final_schema)

    async def __call__(self, state: AgentState) -> dict[str, Any]:
        history = list(state.get("messages") or [])
        new: list[Message] = []
        if not history:
            new.append(user_message(input_text(state.get("input", ""))))
        messages = [system_message(self.system_prompt), *history, *new]
        tools = (
            [*self.tools, *services().source_tools(self.tool_sources)] if self.tool_sources else self.tools
        )
        if self.context is not None:  # near the context window: cut older turns by the declared policy
            messages = await self.context.apply(messages, role=self.role, tools=tools, model=self.model)
        decision, raw_text, task = await model_step(
            messages,
            role=self.role,
            tools=tools,
            final_schema=self.final_schema,
            model=self.model,
            refusal=self.refusal,
        )
        message = assistant_message(decision, raw_text)
        message["decision_id"] = task
        new.append(message)
        update: dict[str, Any] = {"messages": new}
        if decision.is_final:
            update["output"] = decision.final_answer
            update["partial"] = decision.final_answer
        return update  # (a decision to call tools is not a result: the partial result stays the last one)


def _checked_refusal(refusal: str | None, final_schema: dict[str, Any] | None) -> str | None:
    """`refusal` if it is a usable fixed answer (non-empty text that the final-answer schema accepts), else a
    `ConfigError` saying why."""
    if refusal is None:
        return None
    if not isinstance(refusal, str) or not refusal.strip():
        raise ConfigError("refusal must be a non-empty text (the fixed answer of a refusal)")
    if final_schema is not None:
        from jsonschema import Draft202012Validator, validators

        cls = validators.validator_for(final_schema, default=Draft202012Validator)
        error = next(iter(cls(final_schema).iter_errors(refusal)), None)
        if error is not None:
            raise ConfigError(f"refusal text is not a valid final answer under final_schema: {error.message}")
    return refusal


def route_after_model(state: AgentState) -> str:
    """`"tools"` when the last decision called tools, else `END`."""
    messages = state.get("messages") or []
    if messages and messages[-1].get("role") == "assistant" and messages[-1].get("tool_calls"):
        return "tools"
    return END
