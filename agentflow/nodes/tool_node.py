"""`ToolNode`: run the calls of the last decision — approvals first, then concurrently, never twice.

For each call, in order:
1. finished before (the journal has its outcome: after a pause or a crash) -> reuse the outcome, don't run;
2. interrupted mid-execution before (journal says `started`): re-run if the tool is idempotent, otherwise
   the outcome is unknown -> ask the human if approval applies to the tool, else tell the model;
3. needs approval under the tool's policy -> the node pauses the run (a LangGraph interrupt carrying every
   call that needs a decision, so parallel calls never collide) and, once decided, applies the decisions;
4. otherwise it runs, after the budget allows it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from agentflow import approval
from agentflow.approval import ApprovalPolicy, HumanDecision, PendingCall, needs_approval
from agentflow.events import ToolCalled
from agentflow.exceptions import ToolArgumentsError, UserError
from agentflow.failpoints import failpoint
from agentflow.messages import Message, ToolCall, latest_user_text, tool_message
from agentflow.nodes.state import AgentState
from agentflow.redaction import REDACTED, RESULT, redact_fields
from agentflow.runtime.journal import outcome_from_dict
from agentflow.runtime.services import RunServices, agent_label, current_task, services
from agentflow.tooling.context import RunContext
from agentflow.tooling.execute import (
    DEFAULT_MAX_OBSERVATION_CHARS,
    NEEDS_INPUT,
    ToolOutcome,
    execute_call,
    truncate,
)
from agentflow.tooling.source import ToolSource, split_tools
from agentflow.tooling.tool import Tool

__all__ = ["UNKNOWN_OUTCOME", "ToolNode"]

UNKNOWN_OUTCOME = (
    "outcome unknown: this call was interrupted while it ran (the process stopped) and tool "
    "'{tool}' is not idempotent, so it was not run again; it may or may not have taken effect"
)


class ToolNode:
    """Run every call of the last decision; observations come back in call order.

    `approval` overrides the tools' own policies: one policy for all tools, or a mapping by tool name.
    """

    def __init__(
        self,
        tools: Sequence[Tool | ToolSource],
        *,
        approval: ApprovalPolicy | Mapping[str, ApprovalPolicy] | None = None,
        max_observation_chars: int = DEFAULT_MAX_OBSERVATION_CHARS,
        role: str = "agent",
    ) -> None:
        local, self.tool_sources = split_tools(tools)
        self.local_tools = local
        self.tools = {t.name: t for t in local}
        self.approval = approval
        self.max_observation_chars = max_observation_chars
        self.role = role

    def policy_for(self, tool: Tool) -> ApprovalPolicy | None:
        if isinstance(self.approval, Mapping):
            return self.approval.get(tool.name, tool.approval)
        return self.approval if self.approval is not None else tool.approval

    def tools_for(self, svc: RunServices) -> dict[str, Tool]:
        """The node's tools in this run: its own and those of its sources (connected for the run)."""
        if not self.tool_sources:
            return self.tools
        return {**self.tools, **{t.name: t for t in svc.source_tools(self.tool_sources)}}

    async def __call__(self, state: AgentState) -> dict[str, Any]:
        svc = services()
        tools = self.tools_for(svc)
        messages = state.get("messages") or []
        if not messages:
            return {}
        last = messages[-1]
        calls = [ToolCall.model_validate(c) for c in last.get("tool_calls") or []]
        if not calls:
            return {}
        # what the model's `Quoted` arguments must be quoted from (a human's edit is taken as written)
        request = latest_user_text(messages)
        proposed = {c.id: c.arguments for c in calls}

        def quote_source(call: ToolCall) -> str | None:
            return request if call.arguments == proposed.get(call.id) else None

        # keyed by the decision (the model task that made it), which survives a crash: see ModelNode
        task = last.get("decision_id") or current_task()
        outcomes: dict[str, ToolOutcome] = {}
        to_run: list[ToolCall] = []
        asks: list[PendingCall] = []
        asked_before: list[PendingCall] = []  # approvals decided in an earlier execution (see below)
        elicit: list[PendingCall] = []  # calls whose MCP server asked a human for input
        for call in calls:
            entry = svc.journal.get(task, call.id)
            tool = tools.get(call.name)
            policy = self.policy_for(tool) if tool is not None else None
            if entry is not None and entry["status"] == "finished":
                recorded = outcome_from_dict(call, entry["outcome"])
                if tool is not None and _asks_human(tool, policy, call.arguments, svc):
                    asked_before.append(self._ask(svc, call, last, tool, unknown_outcome=False))
                if recorded.error_type == NEEDS_INPUT:  # (the call as it ran: a human may have edited it)
                    ran = (recorded.elicitation or {}).get("arguments")
                    effective = call.model_copy(update={"arguments": ran}) if isinstance(ran, dict) else call
                    elicit.append(self._ask(svc, effective, last, tool, elicitation=recorded.elicitation))
                else:
                    outcomes[call.id] = recorded
                continue
            if entry is not None and not (tool is not None and tool.idempotent):  # interrupted mid-call
                if policy not in (None, "never"):
                    asks.append(self._ask(svc, call, last, tool, unknown_outcome=True))
                else:
                    outcome = ToolOutcome(
                        call=call,
                        content=UNKNOWN_OUTCOME.format(tool=call.name),
                        is_error=True,
                        error_type="unknown_outcome",
                    )
                    await self._settle(svc, task, call, outcome, durable=True)
                    outcomes[call.id] = outcome
                continue
            if tool is not None and _asks_human(tool, policy, call.arguments, svc):
                asks.append(self._ask(svc, call, last, tool, unknown_outcome=False))
            else:
                to_run.append(call)  # (invalid arguments are refused by execute_call as an observation)
        # A node execution pauses at most twice, always in this order: approvals (#0), then servers' requests
        # for input (#1). LangGraph hands resumed values back by position, so approvals decided before are
        # asked again (answered at once from the run's history) to keep the server's question at #1.
        if asks or asked_before:
            decisions = approval.ask([*asks, *asked_before])
            for ask in asks:
                await self._decided(svc, task, calls, ask, decisions[ask.call_id], to_run, outcomes)
        if elicit:
            decisions = approval.ask(elicit)
            for ask in elicit:
                await self._decided(svc, task, calls, ask, decisions[ask.call_id], to_run, outcomes)
        answered = False
        while True:
            if to_run:  # all or nothing: a decision's calls start only if all fit the budget
                svc.tracker.check_before_tool(len(to_run))
                # Non-idempotent calls are journaled durably one by one (`started` before, `finished` after);
                # idempotent ones are queued: losing one to a crash only re-runs an idempotent call. Calls
                # run again with a human's answers go one at a time (a server's question is tied to the one
                # call it has in flight).
                if answered:
                    for call in to_run:
                        await self._run_one(svc, task, call, outcomes, quote_source(call))
                else:
                    async with anyio.create_task_group() as tg:
                        for call in to_run:
                            tg.start_soon(self._run_one, svc, task, call, outcomes, quote_source(call))
            needs_input = [
                self._ask(svc, o.call, last, tools.get(o.call.name), elicitation=o.elicitation)
                for o in outcomes.values()
                if o.error_type == NEEDS_INPUT
            ]
            if not needs_input:
                break
            # a server asked a human mid-call: pause here (or, re-executed after the answer, go on with it):
            # the call runs again from the start, its server given every answer so far, in order
            decisions = approval.ask(needs_input)
            to_run, answered = [], True
            for ask in needs_input:
                del outcomes[ask.call_id]
                await self._decided(svc, task, calls, ask, decisions[ask.call_id], to_run, outcomes)
        ordered = [outcomes[c.id] for c in calls]
        return {
            "messages": [tool_message(o.call, o.content, is_error=o.is_error) for o in ordered],
            "partial": ordered[-1].content if len(ordered) == 1 else [o.content for o in ordered],
        }

    def _ask(
        self,
        svc: RunServices,
        call: ToolCall,
        last: Message,
        tool: Tool | None,
        *,
        unknown_outcome: bool = False,
        elicitation: dict[str, Any] | None = None,
    ) -> PendingCall:
        sensitive = sorted(tool.sensitive) if tool is not None else []
        return PendingCall(
            run_id=svc.run_id,
            call_id=call.id,
            tool=call.name,
            arguments=redact_fields(call.arguments, set(sensitive) - {RESULT}),
            reasoning=last.get("reasoning", ""),
            parameters=tool.parameters if tool else {},
            unknown_outcome=unknown_outcome,
            elicitation=elicitation,
            sensitive=tuple(sensitive),
        )

    async def _decided(
        self,
        svc: RunServices,
        task: str,
        calls: list[ToolCall],
        ask: PendingCall,
        decision: HumanDecision,
        to_run: list[ToolCall],
        outcomes: dict[str, ToolOutcome],
    ) -> None:
        """Apply a human's decision on a paused call: run it (edited, or with the answer to its server's
        question), or settle it (rejected, or answered in the tool's place)."""
        call = next(c for c in calls if c.id == ask.call_id)
        if ask.elicitation is not None:  # the call as it ran when its server asked (edited, maybe)
            call = call.model_copy(update={"arguments": ask.arguments})
        if ask.elicitation is not None and decision.action in ("approve", "answer"):
            content = decision.result if decision.action == "answer" else None
            if svc.toolset is not None:
                svc.toolset.elicitations.answer(call.id, content)
            to_run.append(call)
            return
        if decision.action == "approve":
            if decision.arguments is not None:
                call = call.model_copy(update={"arguments": decision.arguments})
            to_run.append(call)
            return
        if decision.action == "reject":
            what = "declined the server's question" if ask.elicitation is not None else "rejected"
            outcome = ToolOutcome(
                call=call,
                content=f"{what} by a human: {decision.message or ''}",
                is_error=True,
                error_type="rejected",
            )
        else:
            result = decision.result
            text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
            outcome = ToolOutcome(
                call=call,
                content=truncate(text, self.max_observation_chars),
                result=result,
                error_type=None,
            )
        await self._settle(svc, task, call, outcome, durable=True, by_human=True)
        outcomes[call.id] = outcome

    async def _run_one(
        self,
        svc: RunServices,
        task: str,
        call: ToolCall,
        outcomes: dict[str, ToolOutcome],
        request: str | None = None,
    ) -> None:
        if svc.replay is not None:  # a replay: the recorded result stands in for the call, when it matches
            recorded = svc.replay.tool_outcome(call, agent_label(self.role), _step(svc, task))
            if recorded is not None:
                outcome = outcome_from_dict(call, recorded)
                outcomes[call.id] = outcome
                await self._settle(svc, task, call, outcome, durable=False)
                return
        tools = self.tools_for(svc)
        tool = tools.get(call.name)
        sensitive = tool.sensitive - {RESULT} if tool is not None else frozenset()
        for name in sensitive:
            svc.redactor.add(call.arguments.get(name))
        gone = _redacted_arguments(call)
        if gone:  # a value that was never recorded: after a pause or a crash it is not there to use
            outcome = ToolOutcome(
                call=call,
                content=f"argument(s) {', '.join(gone)} of '{call.name}' hold values redacted when the run was "
                "recorded; they are not available after a pause or a crash: ask for them again",
                is_error=True,
                error_type="redacted_argument",
            )
            outcomes[call.id] = outcome
            await self._settle(svc, task, call, outcome, durable=False)
            return
        guarded = tool is not None and not tool.idempotent
        if guarded:
            recorded = call.model_copy(update={"arguments": redact_fields(call.arguments, sensitive)})
            await svc.journal.start(task, recorded)
        context = RunContext(
            run_id=svc.run_id,
            step=_step(svc, task),
            call_id=call.id,
            store=svc.store,
            context=svc.context,
            cancelled=svc.cancelled,
            base_logger=svc.logger,
            request=request,
        )
        outcome = await execute_call(call, tools, context, max_observation_chars=self.max_observation_chars)
        outcomes[call.id] = outcome
        await self._settle(svc, task, call, outcome, durable=guarded)
        failpoint("after_tool")

    async def _settle(
        self,
        svc: RunServices,
        task: str,
        call: ToolCall,
        outcome: ToolOutcome,
        *,
        durable: bool,
        by_human: bool = False,
    ) -> None:
        svc.tracker.sync_wall()
        tool = self.tools_for(svc).get(call.name)
        sensitive = tool.sensitive if tool is not None else frozenset()
        recorded = outcome
        if RESULT in sensitive and not outcome.is_error:
            svc.redactor.add(outcome.result)
            svc.redactor.add(outcome.content)
            recorded = dataclasses.replace(outcome, result=REDACTED, content=REDACTED)
        event = ToolCalled(
            run_id=svc.run_id,
            agent=agent_label(self.role),
            step=_step(svc, task),
            call_id=call.id,
            tool=call.name,
            arguments=redact_fields(call.arguments, sensitive - {RESULT}),
            content=recorded.content,
            is_error=outcome.is_error,
            error_type=outcome.error_type,
            result=recorded.result,
            attempts=outcome.attempts,
            latency_s=outcome.latency_s,
            by_human=by_human,
            decision=task,
            traceback=outcome.traceback,
            elicitation=outcome.elicitation,
            ts=_began(outcome.latency_s),
            duration_s=outcome.latency_s,
        )
        svc.journal.remember(task, call, outcome)
        if durable:  # a non-idempotent call: its journal row is finished in the same transaction as the event
            await svc.journal.finish(task, call, recorded, event)
            await svc.notify(event)
        else:  # the trace event is the record (the runner rebuilds the journal from events on resume)
            await svc.record(event)


def _asks_human(
    tool: Tool, policy: ApprovalPolicy | None, arguments: dict[str, Any], svc: RunServices
) -> bool:
    """Whether the call waits for a human. Arguments that fail the tool's schema never reach a human (the model
    gets the validation error instead), and a predicate sees the validated arguments; a predicate that raises
    asks the human rather than crash the run."""
    if policy in (None, "never"):
        return False
    try:
        validated = tool.json_arguments(arguments)
    except ToolArgumentsError:
        return False
    try:
        return needs_approval(tool, policy, validated)
    except UserError:
        raise
    except Exception as exc:
        svc.logger.warning("approval predicate failed; asking a human", tool=tool.name, error=repr(exc))
        return True


def _step(svc: RunServices, task: str) -> int:
    """The step of the decision whose calls these are (parallel branches each have their own), else the run's
    latest step."""
    step = svc.journal.step_of(task)
    return step if step is not None else svc.tracker.usage.steps


def _began(seconds: float) -> str:
    """When a call that took `seconds` and just ended began, as the trace writes times."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def _redacted_arguments(call: ToolCall) -> list[str]:
    """The call's arguments that hold a redacted value anywhere in them (a value gone since it was recorded)."""
    return sorted(
        name for name, value in call.arguments.items() if REDACTED in json.dumps(value, default=str)
    )
