"""Human approval: when a call needs a human (policies), and the one contract between a paused graph and the
human deciding on it.

A policy says when a call needs a human: `"never"` (default), `"always"`, `"destructive"` (the tool is marked
destructive and not read-only) or a predicate on the arguments.

The contract, built and read only here (checkpoints and the run record hold its plain-JSON form, so no class of
ours is ever pickled into LangGraph's state):

- `ask(calls)` pauses the run with an `ApprovalRequest` (a LangGraph interrupt carrying every call of one node
  that needs a decision) and, when the run continues, returns the `HumanDecision` for each call;
- `pending_calls(snapshot)` reads the `PendingCall`s of every approval interrupt of a paused graph (parallel
  branches included); `decide(pending, decisions)` checks decisions against them (an edit is validated against
  the tool's schema); `resume_command(pending)` is the LangGraph `Command` that continues the run with them.

A `HumanDecision` is one of: approve (optionally with edited arguments), reject (the message becomes the
observation), or answer (the given result stands in for the tool's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentflow.exceptions import InvalidDecisionError, UserError

if TYPE_CHECKING:
    from agentflow.tooling.tool import Tool

__all__ = [
    "ApprovalPolicy",
    "ApprovalRequest",
    "HumanDecision",
    "PendingCall",
    "ask",
    "decide",
    "merge_patch",
    "needs_approval",
    "pending_calls",
    "recorded_decision",
    "resume_command",
]

ApprovalPolicy = Literal["never", "always", "destructive"] | Callable[[dict[str, Any]], bool]
Action = Literal["approve", "reject", "answer"]
_KIND = "approval"  # the interrupt payload's marker


@dataclass(frozen=True, slots=True, kw_only=True)
class HumanDecision:
    """A human's decision on one call (`call_id=None`: on every call still undecided)."""

    action: Action
    call_id: str | None = None
    arguments: dict[str, Any] | None = None  # approve with these arguments instead of the call's
    patch: dict[str, Any] | None = None  # approve with the call's arguments edited by this JSON merge patch
    message: str | None = None  # reject
    result: Any = None  # answer

    def to_json(self) -> dict[str, Any]:
        """The stored form (without the call id, which the containing record keys it by)."""
        out: dict[str, Any] = {"action": self.action}
        if self.arguments is not None:
            out["arguments"] = self.arguments
        if self.action == "reject":
            out["message"] = self.message
        if self.action == "answer":
            out["result"] = self.result
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], call_id: str | None = None) -> HumanDecision:
        return cls(
            action=data["action"],
            call_id=call_id,
            arguments=data.get("arguments"),
            message=data.get("message"),
            result=data.get("result"),
        )


#: what a call gets when the run continues without a decision on it
NO_DECISION = HumanDecision(action="reject", message="no decision was given")


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingCall:
    """A call waiting for a human: what the model (or an approval gate) wants to run, why, and the schema an
    edit must satisfy. `unknown_outcome` means an earlier execution was interrupted mid-way; `interrupt_id`
    names the pause it belongs to; `decision` is set once a human decided."""

    run_id: str
    call_id: str
    tool: str
    arguments: dict[str, Any]
    reasoning: str = ""
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    interrupt_id: str = ""
    unknown_outcome: bool = False
    decision: HumanDecision | None = None
    elicitation: dict[str, Any] | None = None  # a tool's MCP server asks the human this (message, schema)
    sensitive: tuple[str, ...] = ()  # the tool's sensitive arguments ("return": its result): never recorded

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "call_id": self.call_id,
            "tool": self.tool,
            "arguments": self.arguments,
            "reasoning": self.reasoning,
            "parameters": self.parameters,
            "interrupt_id": self.interrupt_id,
            "unknown_outcome": self.unknown_outcome,
            "decision": self.decision.to_json() if self.decision is not None else None,
            "elicitation": self.elicitation,
            "sensitive": list(self.sensitive),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingCall:
        decision = data.get("decision")
        return cls(
            run_id=data.get("run_id", ""),
            call_id=data["call_id"],
            tool=data["tool"],
            arguments=data.get("arguments") or {},
            reasoning=data.get("reasoning") or "",
            parameters=data.get("parameters") or {},
            interrupt_id=data.get("interrupt_id") or "",
            unknown_outcome=bool(data.get("unknown_outcome")),
            decision=HumanDecision.from_json(decision, data["call_id"]) if decision else None,
            elicitation=data.get("elicitation"),
            sensitive=tuple(data.get("sensitive") or ()),
        )


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What one node's pause asks a human about (the interrupt's payload, as `to_json()`)."""

    calls: tuple[PendingCall, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": _KIND, "calls": [c.to_json() for c in self.calls]}

    @classmethod
    def from_json(cls, value: Any) -> ApprovalRequest | None:
        """The request an interrupt carries, or None for an interrupt that is not agentflow's approval."""
        if not isinstance(value, Mapping) or value.get("kind") != _KIND:
            return None
        return cls(tuple(PendingCall.from_json(c) for c in value.get("calls") or ()))


# ---------------------------------------------------------------------------------------------- policies


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
    raise UserError(
        f"tool '{tool.name}': unknown approval policy {policy!r} (never, always, destructive or a function)"
    )


# --------------------------------------------------------------------------------------- inside the graph


def ask(calls: Sequence[PendingCall]) -> dict[str, HumanDecision]:
    """Pause the run until a human decided on every call (inside a node); then each call's decision.

    On the first execution this raises LangGraph's interrupt; when the run continues with `resume_command`,
    LangGraph re-runs the node and this returns the decisions instead."""
    from langgraph.types import interrupt

    resume = interrupt(ApprovalRequest(tuple(calls)).to_json()) or {}
    return {
        c.call_id: HumanDecision.from_json(resume[c.call_id], c.call_id)
        if resume.get(c.call_id)
        else dataclasses.replace(NO_DECISION, call_id=c.call_id)
        for c in calls
    }


# -------------------------------------------------------------------------------------- outside the graph


def pending_calls(snapshot: Any) -> list[PendingCall]:
    """The calls a paused graph waits on (a LangGraph `StateSnapshot`), from every approval interrupt."""
    pending: list[PendingCall] = []
    for item in snapshot.interrupts or ():
        request = ApprovalRequest.from_json(item.value)
        if request is not None:
            pending += [dataclasses.replace(c, interrupt_id=item.id, decision=None) for c in request.calls]
    return pending


def decide(
    run_id: str, pending: Sequence[PendingCall], decisions: Sequence[HumanDecision]
) -> list[PendingCall]:
    """`pending` with `decisions` applied (a decision without `call_id` applies to every call still
    undecided). Raises `InvalidDecisionError` naming what is wrong; nothing is applied then."""
    by_id = {p.call_id: p for p in pending}
    decided: dict[str, HumanDecision] = {}
    for decision in decisions:
        if decision.call_id is not None and decision.call_id not in by_id:
            raise InvalidDecisionError(
                f"run {run_id} has no pending call '{decision.call_id}' (pending: {', '.join(by_id)})"
            )
        targets = (
            [by_id[decision.call_id]] if decision.call_id else [p for p in pending if p.decision is None]
        )
        for call in targets:
            decided[call.call_id] = _validated(call, decision)
    return [dataclasses.replace(p, decision=decided.get(p.call_id, p.decision)) for p in pending]


def recorded_decision(call: PendingCall) -> PendingCall:
    """`call` as it may be recorded: its decision's values for the tool's sensitive arguments (an edit) and
    result (an answer in its place) redacted. The run continues with the decision as given."""
    decision = call.decision
    if decision is None or not call.sensitive:
        return call
    from agentflow.redaction import REDACTED, RESULT, redact_fields

    arguments = decision.arguments
    if arguments is not None:
        arguments = redact_fields(arguments, set(call.sensitive) - {RESULT})
    result = REDACTED if RESULT in call.sensitive and decision.result is not None else decision.result
    return dataclasses.replace(
        call, decision=dataclasses.replace(decision, arguments=arguments, result=result)
    )


def resume_command(pending: Sequence[PendingCall]) -> Any:
    """The LangGraph `Command` continuing a paused run: per interrupt, the decisions keyed by call id."""
    from langgraph.types import Command

    by_interrupt: dict[str, dict[str, Any]] = {}
    for call in pending:
        by_interrupt.setdefault(call.interrupt_id, {})[call.call_id] = (
            call.decision.to_json() if call.decision is not None else None
        )
    return Command(resume=by_interrupt)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: `patch`'s members replace `target`'s, `null` removes one, objects merge
    recursively; a patch that is not an object replaces the target."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _validated(call: PendingCall, decision: HumanDecision) -> HumanDecision:
    """`decision` bound to `call`, after checking it can apply (an edit is stored as the full arguments)."""
    if decision.action == "reject" and not (decision.message or "").strip():
        raise InvalidDecisionError(f"rejecting call {call.call_id} needs a message for the model")
    if decision.patch is not None:
        if decision.action != "approve" or decision.arguments is not None:
            raise InvalidDecisionError(
                f"call {call.call_id}: a patch edits an approved call's arguments; give a patch or arguments"
            )
        if not isinstance(decision.patch, dict):
            raise InvalidDecisionError(
                f"edit for call {call.call_id}: the patch must be a JSON object of the arguments to change "
                '(e.g. {"amount": 50}); to approve the call as it is, give no edit'
            )
        decision = dataclasses.replace(
            decision, arguments=merge_patch(call.arguments, decision.patch), patch=None
        )
    if call.elicitation is not None and decision.action == "answer":
        schema = call.elicitation.get("requested_schema")
        if not isinstance(decision.result, dict):
            raise InvalidDecisionError(
                f"call {call.call_id}: the answer to the server's question must be a JSON object"
            )
        if isinstance(schema, dict):
            from jsonschema import Draft202012Validator

            wrong = [e.message for e in Draft202012Validator(schema).iter_errors(decision.result)][:5]
            if wrong:
                raise InvalidDecisionError(
                    f"call {call.call_id}: the answer does not fit what the server asked for: {'; '.join(wrong)}"
                )
    if decision.action == "approve" and decision.arguments is not None:
        if not isinstance(decision.arguments, dict):
            raise InvalidDecisionError(f"edit for call {call.call_id}: arguments must be a JSON object")
        from jsonschema import Draft202012Validator

        from agentflow.formats import format_checker

        validator = Draft202012Validator(call.parameters, format_checker=format_checker(Draft202012Validator))
        errors = sorted(validator.iter_errors(decision.arguments), key=lambda e: [str(p) for p in e.path])
        if errors:
            problems = "; ".join(
                f"argument '{'.'.join(str(p) for p in e.path) or '(arguments)'}': {e.message}"
                for e in errors[:5]
            )
            raise InvalidDecisionError(
                f"edit for call {call.call_id} of tool '{call.tool}' is invalid: {problems}"
            )
    return dataclasses.replace(decision, call_id=call.call_id)
