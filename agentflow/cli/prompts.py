"""Asking a human, in the terminal, what to do with each pending tool call."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from agentflow.approval import HumanDecision, PendingCall

__all__ = ["NoMoreInput", "ask_decisions"]

_CHOICES = "[a]pprove, [e]dit, [r]eject, a[n]swer"


class NoMoreInput(Exception):
    """stdin ended before every call had a decision: the run stays paused."""


def _read(console: Console, prompt: str) -> str:
    console.print(prompt, end="", markup=False)
    try:
        return input().strip()
    except EOFError:
        console.print("")
        raise NoMoreInput from None


def ask_decisions(console: Console, pending: list[PendingCall]) -> list[HumanDecision]:
    """One decision per undecided call, read from stdin."""
    decisions = []
    for call in pending:
        if call.decision is not None:
            continue
        console.print(
            f"\n[bold]{escape(call.tool)}[/] call {call.call_id} wants to run with "
            f"{escape(json.dumps(call.arguments, ensure_ascii=False))}"
        )
        if call.reasoning:
            console.print(f"  model's reasoning: [italic]{escape(call.reasoning)}[/]")
        if call.elicitation is not None:
            console.print(
                f"  [bold]its MCP server asks:[/] {escape(str(call.elicitation.get('message')))} "
                f"(answer with [n] and a JSON object: {escape(json.dumps(call.elicitation.get('requested_schema')))})"
            )
        if call.unknown_outcome:
            console.print(
                "  [yellow]an earlier attempt was interrupted mid-call: it may already have taken effect[/]"
            )
        while True:
            choice = _read(console, f"{_CHOICES}? ").lower()[:1]
            try:
                if choice == "a":
                    decisions.append(HumanDecision(action="approve", call_id=call.call_id))
                elif choice == "e":
                    patch = json.loads(_read(console, 'arguments to change (JSON, e.g. {"amount": 50}): '))
                    if not isinstance(patch, dict):
                        console.print("[red]give a JSON object of the arguments to change[/]")
                        continue
                    decisions.append(HumanDecision(action="approve", call_id=call.call_id, patch=patch))
                elif choice == "r":
                    message = _read(console, "message for the model: ") or "rejected"
                    decisions.append(HumanDecision(action="reject", call_id=call.call_id, message=message))
                elif choice == "n":
                    result = json.loads(_read(console, "result (JSON): "))
                    decisions.append(HumanDecision(action="answer", call_id=call.call_id, result=result))
                else:
                    continue
                break
            except json.JSONDecodeError as exc:
                console.print(f"[red]not valid JSON: {exc.msg}[/]")
    return decisions
