"""Human approval of tool calls: policies, the calls a paused run waits on, and the decisions on them.

A policy says when a call needs a human: `"never"` (default), `"always"`, `"destructive"` (the tool is marked
destructive and not read-only) or a predicate on the arguments. A decision on a pending call is one of:
approve (optionally with edited arguments, validated against the tool's schema), reject (the message becomes
the observation), or answer (the given result stands in for the tool's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import Draft202012Validator

from agentflow.exceptions import UserError
from agentflow.tooling.tool import Tool

__all__ = ["ApprovalPolicy", "Decision", "InvalidDecisionError", "PendingCall", "needs_approval", "validate_decision"]

ApprovalPolicy = Literal["never", "always", "destructive"] | Callable[[dict[str, Any]], bool]
Action = Literal["approve", "reject", "answer"]


class InvalidDecisionError(UserError):
    """A decision that cannot apply: unknown call, edit that fails the tool's schema, missing message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingCall:
    """A call waiting for a human. `unknown_outcome` means an earlier execution was interrupted mid-way."""

    run_id: str
    call_id: str
    tool: str
    arguments: dict[str, Any]
    reasoning: str
    parameters: dict[str, Any]
    interrupt_id: str = ""
    unknown_outcome: bool = False
    decision: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "call_id": self.call_id, "tool": self.tool, "arguments": self.arguments,
                "reasoning": self.reasoning, "parameters": self.parameters, "interrupt_id": self.interrupt_id,
                "unknown_outcome": self.unknown_outcome, "decision": self.decision}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingCall:
        return cls(**{k: data[k] for k in ("run_id", "call_id", "tool", "arguments", "reasoning", "parameters",
                                          "interrupt_id", "unknown_outcome", "decision") if k in data})


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A human's decision on one call (`call_id=None`: on every pending call)."""

    action: Action
    call_id: str | None = None
    arguments: dict[str, Any] | None = None  # approve with an edit
    message: str | None = None  # reject
    result: Any = None  # answer

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        if self.arguments is not None:
            out["arguments"] = self.arguments
        if self.action == "reject":
            out["message"] = self.message
        if self.action == "answer":
            out["result"] = self.result
        return out


def needs_approval(tool: Tool, policy: ApprovalPolicy | None, arguments: dict[str, Any]) -> bool:
    """Whether a call of `tool` with `arguments` must wait for a human under `policy`."""
    if policy is None or policy == "never":
        return False
    if policy == "always":
        return True
    if policy == "destructive":
        return tool.destructive and not tool.read_only
    if callable(policy):
        return bool(policy(arguments))
    raise UserError(f"tool '{tool.name}': unknown approval policy {policy!r} (never, always, destructive or a function)")


def validate_decision(call: PendingCall, decision: Decision) -> dict[str, Any]:
    """The stored form of `decision` on `call`; raise `InvalidDecisionError` saying what is wrong."""
    if decision.action == "reject" and not (decision.message or "").strip():
        raise InvalidDecisionError(f"rejecting call {call.call_id} needs a message for the model")
    if decision.action == "approve" and decision.arguments is not None:
        if not isinstance(decision.arguments, dict):
            raise InvalidDecisionError(f"edit for call {call.call_id}: arguments must be a JSON object")
        errors = sorted(Draft202012Validator(call.parameters).iter_errors(decision.arguments), key=lambda e: e.path)
        if errors:
            problems = "; ".join(
                f"argument '{'.'.join(str(p) for p in e.path) or '(arguments)'}': {e.message}" for e in errors[:5])
            raise InvalidDecisionError(f"edit for call {call.call_id} of tool '{call.tool}' is invalid: {problems}")
    return decision.as_dict()
