"""`agentflow run | resume | approve | reject | answer | pending | graphs`, and the sub-apps (`runs`, `schema`).

Exit codes: 0 succeeded, 1 failed, 2 bad input or usage, 3 budget exhausted, 4 awaiting approval,
130 cancelled. With `--json`, stdout holds exactly one JSON object; the live view and logs go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from agentflow.cli.common import (
    DbOpt,
    JsonOpt,
    ModelOpt,
    QuietOpt,
    VerboseOpt,
    json_arg,
    read_input,
    read_storage,
    split_models,
)
from agentflow.cli.driver import budget_of, context_values, execute
from agentflow.status import RunStatus

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Run LLM agents as LangGraph workflow graphs.",
)


def _add_sub_apps() -> None:
    from agentflow.cli.mcp import mcp_app
    from agentflow.cli.memory import memory_app
    from agentflow.cli.runs import runs_app
    from agentflow.cli.schema import schema_app
    from agentflow.cli.tools import tools_app

    app.add_typer(runs_app, name="runs")
    app.add_typer(schema_app, name="schema")
    app.add_typer(mcp_app, name="mcp")
    app.add_typer(tools_app, name="tools")
    app.add_typer(memory_app, name="memory")


_add_sub_apps()


@app.command()
def run(
    graph: Annotated[
        str, typer.Argument(help="Graph file (path.py or path.py:factory) or bundled graph name.")
    ],
    input: Annotated[str, typer.Option("--input", "-i", help="The request, or - to read stdin.")],
    model: ModelOpt = None,
    db: DbOpt = None,
    max_steps: Annotated[int | None, typer.Option(min=0, help="Max model decisions (default 25).")] = None,
    max_tokens: Annotated[
        int | None, typer.Option(min=0, help="Max input+output tokens (default 200000).")
    ] = None,
    max_cost: Annotated[float | None, typer.Option(min=0, help="Max cost in USD (default 1.0).")] = None,
    max_time: Annotated[
        float | None, typer.Option(min=0, help="Max wall time in seconds (default 600).")
    ] = None,
    max_tool_calls: Annotated[int | None, typer.Option(min=0, help="Max tool calls (default 100).")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (local models).")] = None,
    temperature: Annotated[float, typer.Option(min=0, help="Sampling temperature.")] = 0.0,
    max_new_tokens: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Max tokens per model decision (default: the minimum that guarantees a complete decision).",
        ),
    ] = None,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context", "-c", help="KEY=VALUE given to the run's tools (e.g. user_id=alice); repeatable."
        ),
    ] = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Run GRAPH on a request and show its steps live."""
    text = read_input(input)
    values = context_values(context)
    default_model, role_models = split_models(model)

    def start(runner: Any, run_id: str, view: Any) -> Any:
        from agentflow.models.base import SamplingSettings

        budget = budget_of(max_steps, max_tokens, max_cost, max_time, max_tool_calls)
        settings = SamplingSettings(temperature=temperature, max_tokens=max_new_tokens, seed=seed)
        return runner.run(
            graph,
            text,
            model=default_model,
            models=role_models,
            budget=budget,
            settings=settings,
            run_id=run_id,
            on_event=view,
            context=values,
        )

    from agentflow.runner import new_run_id

    async def fresh_id(runner: Any) -> str:
        return new_run_id()

    execute(db, as_json, verbose, quiet, fresh_id, start)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    model: ModelOpt = None,
    db: DbOpt = None,
    max_steps: Annotated[int | None, typer.Option(min=0)] = None,
    max_tokens: Annotated[int | None, typer.Option(min=0)] = None,
    max_cost: Annotated[float | None, typer.Option(min=0)] = None,
    max_time: Annotated[float | None, typer.Option(min=0)] = None,
    max_tool_calls: Annotated[int | None, typer.Option(min=0)] = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Continue a cancelled, crashed, failed or budget-stopped run from its last checkpoint."""
    default_model, role_models = split_models(model)

    async def start(runner: Any, rid: str, view: Any) -> Any:
        from agentflow.budget import Budget

        recorded = Budget.from_dict((await runner.storage.get_run(rid)).budget)
        budget = budget_of(max_steps, max_tokens, max_cost, max_time, max_tool_calls, base=recorded)
        return await runner.resume(rid, model=default_model, models=role_models, budget=budget, on_event=view)

    execute(db, as_json, verbose, quiet, _stored_id(run_id), start)


def _stored_id(run_id: str) -> Any:
    """The full id of the run `run_id` names (an id or a unique prefix), looked up by the runner."""

    async def lookup(runner: Any) -> str:
        return str((await runner.storage.get_run(run_id)).id)

    return lookup


def decide(
    run_id: str, decisions: list[Any], db: str | None, as_json: bool, verbose: int, quiet: bool
) -> None:
    execute(
        db,
        as_json,
        verbose,
        quiet,
        _stored_id(run_id),
        lambda runner, rid, view: runner.decide(rid, decisions, on_event=view),
    )


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    call: Annotated[
        str | None, typer.Option("--call", help="The call to approve (default: all pending).")
    ] = None,
    edit: Annotated[str | None, typer.Option("--edit", help="JSON arguments replacing the call's.")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Approve pending tool calls (optionally with edited arguments); the run continues once all are decided."""
    from agentflow.approval import HumanDecision

    arguments = json_arg(edit, "--edit") if edit is not None else None
    decide(
        run_id,
        [HumanDecision(action="approve", call_id=call, arguments=arguments)],
        db,
        as_json,
        verbose,
        quiet,
    )


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    message: Annotated[
        str, typer.Option("--message", "-m", help="What the model is told instead of a result.")
    ],
    call: Annotated[
        str | None, typer.Option("--call", help="The call to reject (default: all pending).")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Reject pending tool calls; the model sees the message as the observation."""
    from agentflow.approval import HumanDecision

    decide(
        run_id, [HumanDecision(action="reject", call_id=call, message=message)], db, as_json, verbose, quiet
    )


@app.command()
def answer(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    call: Annotated[str, typer.Option("--call", help="The call to answer.")],
    result: Annotated[str, typer.Option("--result", help="JSON result standing in for the tool's.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Answer a pending call with a result in the tool's place (the tool does not run)."""
    from agentflow.approval import HumanDecision

    value = json_arg(result, "--result")
    decide(run_id, [HumanDecision(action="answer", call_id=call, result=value)], db, as_json, verbose, quiet)


@app.command()
def pending(
    run_id: Annotated[str | None, typer.Argument(help="One run (default: every paused run).")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the tool calls paused runs are waiting on."""

    async def read(storage: Any) -> list[Any]:
        if run_id:
            return [await storage.get_run(run_id)]
        return list(await storage.list_runs(limit=1000, status=RunStatus.AWAITING_APPROVAL))

    records = read_storage(db, read)
    calls = [c for r in records if r.status is RunStatus.AWAITING_APPROVAL for c in (r.pending or [])]
    if as_json:
        keys = ("run_id", "call_id", "tool", "arguments", "reasoning", "unknown_outcome", "decision")
        rows = [{k: v for k, v in c.to_json().items() if k in keys} for c in calls]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    from rich.console import Console

    from agentflow.cli.render import pending_table

    if not calls:
        typer.echo("no pending calls" + (f" (run {records[0].id} is {records[0].status})" if run_id else ""))
        return
    Console().print(pending_table(calls))


@app.command()
def graphs() -> None:
    """List the graphs that ship with agentflow."""
    from agentflow.loader import bundled_graphs

    for name in bundled_graphs():
        typer.echo(name)


def main() -> None:
    """Console-script entry point."""
    app()
