"""Nodes that guard a graph: `BudgetGuard` (stop when the run's budget is spent) and `ApprovalGate` (a human
checkpoint on any piece of state, e.g. a plan before it runs).

Both are plain LangGraph nodes for any `StateGraph`:

    builder.add_node("guard", BudgetGuard())                     # raises BudgetExhausted when a limit is hit
    builder.add_node("review", ApprovalGate("publish", lambda s: {"text": s["draft"]},
                                            apply=lambda s, args: {"draft": args["text"]}))

An `ApprovalGate` pauses the run exactly like a tool call that needs approval: status `awaiting_approval`,
the pending item readable with `agentflow pending`, decided with `approve` (optionally `--edit`, validated
against the gate's schema), `reject --message` or `answer --result`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.types import interrupt

from agentflow.runtime.services import agent_label, services

__all__ = ["ApprovalGate", "BudgetGuard"]


class BudgetGuard:
    """Raise `BudgetExhausted` if the run could not afford another model call (steps, tokens, cost, time).

    Put it before expensive fan-outs or at the top of a loop the model nodes do not cover."""

    def __init__(self, *, tool_calls: bool = False) -> None:
        self.tool_calls = tool_calls

    async def __call__(self, state: Any) -> dict[str, Any]:
        tracker = services().tracker
        tracker.check_before_model()
        if self.tool_calls and tracker.budget.max_tool_calls is not None \
                and tracker.usage.tool_calls >= tracker.budget.max_tool_calls:
            from agentflow.exceptions import BudgetExhausted

            raise BudgetExhausted("tool_calls", tracker.budget.max_tool_calls, tracker.usage.tool_calls)
        return {}


class ApprovalGate:
    """Pause for a human decision on `describe(state)` (a JSON object shown as the pending item's arguments).

    - approve: `apply(state, arguments)` returns the state update (`arguments` edited by the human, validated
      against `schema`, or the original);
    - reject: `on_reject(state, message)` returns the update (default: `{}`);
    - answer: treated as an approval with the given result as arguments (it must be an object that validates).

    `when(state)` decides whether to ask at all (default: always). The pending item's id is `gate_<name>`.
    """

    def __init__(self, name: str, describe: Callable[[Any], dict[str, Any]], *,
                 apply: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None,
                 on_reject: Callable[[Any, str], dict[str, Any]] | None = None,
                 schema: dict[str, Any] | None = None, reason: str | Callable[[Any], str] = "",
                 when: Callable[[Any], bool] | None = None) -> None:
        self.name = name
        self.describe = describe
        self.apply = apply or (lambda state, arguments: {})
        self.on_reject = on_reject or (lambda state, message: {})
        self.schema = schema or {"type": "object"}
        self.reason = reason
        self.when = when

    async def __call__(self, state: Any) -> dict[str, Any]:
        if self.when is not None and not self.when(state):
            return {}
        svc = services()
        arguments = self.describe(state)
        call_id = f"gate_{self.name}"
        reason = self.reason(state) if callable(self.reason) else self.reason
        ask = {"run_id": svc.run_id, "call_id": call_id, "tool": self.name, "arguments": arguments,
               "reasoning": reason or f"approval gate '{self.name}' ({agent_label('graph')})",
               "parameters": self.schema, "unknown_outcome": False}
        decisions = interrupt({"kind": "approval", "calls": [ask]})
        decision = (decisions or {}).get(call_id) or {"action": "reject", "message": "no decision was given"}
        if decision["action"] == "reject":
            return self.on_reject(state, decision.get("message") or "")
        if decision["action"] == "answer":
            result = decision.get("result")
            return self.apply(state, result if isinstance(result, dict) else arguments)
        return self.apply(state, decision.get("arguments") or arguments)
