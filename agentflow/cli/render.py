"""The live view of a run on stderr, and tables for `runs list` / `runs show`."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentflow.approval import PendingCall
from agentflow.events import (
    ApprovalDecided,
    ContextTrimmed,
    Event,
    ModelCalled,
    ModelOffer,
    RunErrored,
    RunFinished,
    RunResumed,
    RunStarted,
    StepStarted,
    ToolCalled,
)
from agentflow.status import RunStatus

# a run started without --model: each node uses its graph's own model, else the bundled demo model
DEFAULT_MODEL_LABEL = "graph default (demo)"

__all__ = [
    "DEFAULT_MODEL_LABEL",
    "LiveView",
    "event_detail",
    "pending_table",
    "plural",
    "runs_table",
    "short",
]


def plural(count: int, noun: str) -> str:
    """`1 step`, `2 steps`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call_text(call: dict[str, Any]) -> str:
    args = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (call.get("arguments") or {}).items()
    )
    return f"{call.get('name')}({args})"


class LiveView:
    """Prints each event of a run as it happens (an `on_event` handler)."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose

    def __call__(self, event: Event) -> None:
        c = self.console
        prefix = f"[magenta]{escape(event.agent)}[/] " if event.agent and event.agent != "agent" else ""
        match event:
            case RunStarted():
                c.print(
                    f"[dim]run {event.run_id} · graph {escape(event.graph)} · model "
                    f"{escape(event.model or DEFAULT_MODEL_LABEL)}[/]"
                )
            case RunResumed():
                was = "crashed" if event.crashed else event.previous_status
                c.print(f"[dim]resuming run {event.run_id} (was {was})[/]")
            case StepStarted():
                c.print(f"[bold cyan]step {event.step}[/]")
            case ModelCalled():
                decision = event.decision
                if decision.get("reasoning"):
                    c.print(f"  {prefix}[italic]{escape(short(decision['reasoning'], 200))}[/]")
                for call in decision.get("tool_calls") or []:
                    c.print(f"  {prefix}[yellow]→ {escape(short(_call_text(call), 200))}[/]")
                if not decision.get("tool_calls"):
                    c.print(f"  {prefix}[green]answer:[/] {escape(short(decision.get('final_answer'), 200))}")
                if self.verbose:
                    c.print(
                        f"  [dim]{event.input_tokens}+{event.output_tokens} tokens, "
                        f"{event.latency_s * 1000:.0f} ms[/]"
                    )
            case ToolCalled():
                style = "red" if event.is_error else "blue"
                prefix += "[magenta](human)[/] " if event.by_human else ""
                c.print(f"  {prefix}[{style}]← {escape(event.tool)}: {escape(short(event.content, 200))}[/]")
                if self.verbose and event.traceback:
                    c.print(f"[dim]{escape(event.traceback.rstrip())}[/]")
            case RunErrored():
                c.print(f"[red]error: {escape(event.error_type)}: {escape(event.message)}[/]")
            case RunFinished():
                color = {
                    RunStatus.SUCCEEDED: "green",
                    RunStatus.BUDGET_EXHAUSTED: "yellow",
                    RunStatus.AWAITING_APPROVAL: "yellow",
                }.get(RunStatus(event.status), "red")
                extra = f" (budget '{event.budget}')" if event.budget else ""
                u = event.usage
                tokens = u.get("input_tokens", 0) + u.get("output_tokens", 0)
                c.print(
                    f"[{color}]{event.status}{extra}[/] · run {event.run_id} · {plural(u.get('steps', 0), 'step')}, "
                    f"{plural(u.get('tool_calls', 0), 'tool call')}, {plural(tokens, 'token')}, "
                    f"{u.get('wall_s', 0):.2f} s"
                )


def runs_table(records: list[Any]) -> Table:
    """Recorded runs; ids, dates and graphs are never cut, whatever the terminal's width or when not a
    terminal (cells wrap); the output column is a one-line summary (`runs show` has it whole)."""
    table = Table(show_edge=False)
    table.add_column("run", no_wrap=True, min_width=16)
    table.add_column("status", overflow="fold")
    table.add_column("graph", overflow="fold")
    table.add_column("created", no_wrap=True, min_width=10)
    table.add_column("steps", justify="right", no_wrap=True)
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("output", overflow="fold", ratio=1)
    for r in records:
        tokens = (r.usage.get("input_tokens", 0) or 0) + (r.usage.get("output_tokens", 0) or 0)
        shown = (
            r.output
            if r.status is RunStatus.SUCCEEDED
            else (r.error or {}).get("message") or r.budget_exhausted or ""
        )
        day, _, clock = r.created_at[:19].partition("T")
        table.add_row(
            r.id,
            r.status,
            escape(r.graph),
            f"{day}\n{clock}",
            str(r.usage.get("steps", 0)),
            str(tokens),
            escape(short(shown, 60)),
        )
    return table


def pending_table(calls: list[PendingCall]) -> Table:
    """Calls waiting for a human: tool and arguments in full (a human approves exactly what runs)."""
    table = Table(show_edge=False, title="pending tool calls")
    table.add_column("run", no_wrap=True, min_width=16)
    table.add_column("call", overflow="fold")
    for column in ("tool", "arguments", "reasoning", "decision"):
        table.add_column(column, overflow="fold")
    for c in calls:
        note = " (outcome unknown: interrupted)" if c.unknown_outcome else ""
        if c.elicitation is not None:  # the tool's MCP server asks the human: `answer --result JSON` replies
            note += f" (its server asks: {escape(str(c.elicitation.get('message')))}; answer with JSON)"
        decision = c.decision.action if c.decision is not None else "-"
        table.add_row(
            c.run_id,
            c.call_id,
            escape(c.tool) + note,
            escape(json.dumps(c.arguments, ensure_ascii=False)),
            escape(c.reasoning),
            decision,
        )
    return table


def event_detail(event: Event | None) -> str:
    """One line about a trace event, for `runs show` (empty for a kind this version does not know)."""
    match event:
        case ModelCalled():
            return (
                f"{event.input_tokens}+{event.output_tokens} tok {event.latency_s * 1000:.0f} ms "
                f"{short(event.decision, 150)}"
            )
        case ToolCalled():
            flag = " [error]" if event.is_error else ""
            return (
                f"{event.tool} {short(event.arguments, 80)} -> {short(event.content, 80)}{flag} "
                f"{event.latency_s * 1000:.0f} ms"
            )
        case RunErrored():
            return f"{event.error_type}: {event.message}"
        case RunFinished():
            return f"{event.status} {short(event.output, 100)}"
        case RunResumed():
            return "after a crash" if event.crashed else f"was {event.previous_status}"
        case ModelOffer():
            return f"{event.digest}: tools {', '.join(t['name'] for t in event.tools) or 'none'}"
        case ApprovalDecided():
            return f"{event.call_id} ({event.tool}): {short(event.decision, 100)}"
        case ContextTrimmed():
            return (
                f"{event.policy}: {event.tokens_before} -> {event.tokens_after} tok, dropped {event.dropped} "
                f"messages" + (f"; summary {short(event.summary, 80)}" if event.summary else "")
            )
    return ""
