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
    McpHttpOpt,
    McpStdioOpt,
    ModelOpt,
    OtlpContentOpt,
    OtlpOpt,
    QuietOpt,
    VerboseOpt,
    check_graph,
    fail,
    json_arg,
    mcp_servers,
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
    from agentflow.cli.replay import replay
    from agentflow.cli.runs import runs_app
    from agentflow.cli.sandbox import sandbox_app
    from agentflow.cli.schema import schema_app
    from agentflow.cli.tools import tools_app
    from agentflow.cli.worker import cancel, worker

    app.command()(worker)
    app.command()(cancel)
    app.add_typer(runs_app, name="runs")
    app.add_typer(schema_app, name="schema")
    app.add_typer(mcp_app, name="mcp")
    app.add_typer(tools_app, name="tools")
    app.add_typer(sandbox_app, name="sandbox")
    app.command("replay")(replay)
    app.add_typer(memory_app, name="memory")


_add_sub_apps()


@app.command()
def run(
    graph: Annotated[
        str, typer.Argument(help="Graph file (path.py or path.py:factory) or bundled graph name.")
    ],
    input: Annotated[
        str, typer.Option("--input", "-i", metavar="TEXT", help="The request, or - to read stdin.")
    ],
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
    mcp_stdio: McpStdioOpt = None,
    mcp_http: McpHttpOpt = None,
    otlp: OtlpOpt = None,
    otlp_content: OtlpContentOpt = False,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context", "-c", help="KEY=VALUE given to the run's tools (e.g. user_id=alice); repeatable."
        ),
    ] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="Record the run for a worker (agentflow worker) and print its id.")
    ] = False,
    thread: Annotated[
        str | None,
        typer.Option(
            "--thread", metavar="ID", help="Continue this thread's conversation (a new id starts one)."
        ),
    ] = None,
    on_busy: Annotated[
        str,
        typer.Option(
            "--on-busy",
            metavar="POLICY",
            help="If a run of --thread is in progress: reject, enqueue, interrupt or rollback.",
        ),
    ] = "reject",
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Run GRAPH on a request and show its steps live (or, with --queue, leave it to a worker)."""
    check_graph(graph)
    default_model, role_models = split_models(model)
    values = context_values(context)
    text = read_input(input)
    servers = _servers_or_fail(mcp_stdio, mcp_http)
    if on_busy not in ("reject", "enqueue", "interrupt", "rollback"):
        raise fail(f"--on-busy {on_busy!r}: choose reject, enqueue, interrupt or rollback")
    if queue:
        budget = budget_of(max_steps, max_tokens, max_cost, max_time, max_tool_calls)
        _enqueue(
            db,
            graph,
            text,
            default_model,
            role_models,
            budget,
            temperature,
            max_new_tokens,
            seed,
            servers,
            thread,
            on_busy,
            as_json,
        )
        return

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
            tool_sources=servers,
            run_id=run_id,
            on_event=view,
            context=values,
            thread=thread,
            on_busy=on_busy,
        )

    from agentflow.runner import new_run_id

    async def fresh_id(runner: Any) -> str:
        return new_run_id()

    execute(db, as_json, verbose, quiet, fresh_id, start, otlp=otlp, otlp_content=otlp_content)


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
    mcp_stdio: McpStdioOpt = None,
    mcp_http: McpHttpOpt = None,
    accept_tool_changes: Annotated[
        bool,
        typer.Option(
            "--accept-tool-changes",
            help="Continue even if an MCP server changed a tool the run uses since it started.",
        ),
    ] = False,
    otlp: OtlpOpt = None,
    otlp_content: OtlpContentOpt = False,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Continue a cancelled, crashed, failed or budget-stopped run from its last checkpoint (MCP servers given
    with --mcp-* replace those recorded with the run)."""
    default_model, role_models = split_models(model)
    servers = _servers_or_fail(mcp_stdio, mcp_http)

    async def start(runner: Any, rid: str, view: Any) -> Any:
        from agentflow.budget import Budget

        recorded = Budget.from_dict((await runner.storage.get_run(rid)).budget)
        budget = budget_of(max_steps, max_tokens, max_cost, max_time, max_tool_calls, base=recorded)
        return await runner.resume(
            rid,
            model=default_model,
            models=role_models,
            budget=budget,
            tool_sources=servers or None,
            accept_tool_changes=accept_tool_changes,
            on_event=view,
        )

    execute(db, as_json, verbose, quiet, _stored_id(run_id), start, otlp=otlp, otlp_content=otlp_content)


def _enqueue(
    db: str | None,
    graph: str,
    text: str,
    model: str | None,
    models: dict[str, str],
    budget: Any,
    temperature: float,
    max_new_tokens: int | None,
    seed: int | None,
    servers: list[Any],
    thread: str | None,
    on_busy: str,
    as_json: bool,
) -> None:
    """`run --queue`: record the run as queued and print its id (with --json, the one JSON object)."""
    from agentflow.models.base import SamplingSettings
    from agentflow.result import RunResult
    from agentflow.runner import Runner

    async def put(storage: Any) -> Any:
        runner = Runner(storage=storage)
        run_id = await runner.enqueue(
            graph,
            text,
            model=model,
            models=models,
            budget=budget,
            settings=SamplingSettings(temperature=temperature, max_tokens=max_new_tokens, seed=seed),
            tool_sources=servers,
            thread=thread,
            on_busy=on_busy,
        )
        return RunResult.from_record(await storage.get_run(run_id))

    result = read_storage(db, put, create=True)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, default=str) + "\n")
    else:
        typer.echo(result.run_id)


def _servers_or_fail(stdio_specs: list[str] | None, http_urls: list[str] | None) -> list[Any]:
    from agentflow.exceptions import UserError

    try:
        return mcp_servers(stdio_specs or [], http_urls or [])
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None


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
    edit: Annotated[
        str | None,
        typer.Option(
            "--edit",
            metavar="JSON",
            help="Approve with edited arguments: a JSON merge patch of them ('{\"amount\": 50}' changes one; "
            "null removes one).",
        ),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Approve pending tool calls (optionally with edited arguments); the run continues once all are decided."""
    from agentflow.approval import HumanDecision

    patch = json_arg(edit, "--edit") if edit is not None else None
    if edit is not None and not isinstance(patch, dict):
        raise fail(
            "--edit takes a JSON object: the arguments to change (a merge patch, e.g. '{\"amount\": 50}'); "
            "to approve the call as it is, leave out --edit"
        )
    decide(
        run_id,
        [HumanDecision(action="approve", call_id=call, patch=patch)],
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

    records = read_storage(db, read, read_only=True)
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
def graphs(
    graph: Annotated[
        str | None, typer.Argument(help="A graph file or name: load it and show its model roles.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the graphs that ship with agentflow: name, model roles (for --model ROLE=SPEC), description."""
    from agentflow.exceptions import AgentflowError
    from agentflow.loader import bundled_graphs, graph_info

    try:
        infos = [graph_info(name) for name in bundled_graphs()] if graph is None else [_loaded_info(graph)]
    except AgentflowError as exc:
        raise fail(str(exc), exc.exit_code, error_type=type(exc).__name__) from None
    if as_json:
        rows = [{"name": i.name, "roles": list(i.roles), "description": i.description} for i in infos]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, expand=True)
    table.add_column("graph", no_wrap=True)
    table.add_column("roles", overflow="fold", ratio=1)
    table.add_column("description", overflow="fold", ratio=2)
    for info in infos:
        table.add_row(info.name, ", ".join(info.roles) or "-", info.description)
    Console(highlight=False).print(table)


def _loaded_info(graph: str) -> Any:
    """A graph file's (or bundled graph's) roles, found by building it."""
    import ast
    from pathlib import Path

    from agentflow.graph_walk import graph_roles
    from agentflow.loader import GraphInfo, check_graph_ref, resolve_graph

    check_graph_ref(graph)
    built, ref = resolve_graph(graph)
    compiled = built.compile() if hasattr(built, "compile") else built
    path = Path(graph.rpartition(":")[0] if graph.count(":") and not Path(graph).exists() else graph)
    doc = ""
    if path.is_file():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    description = " ".join(doc.split("\n\n", 1)[0].split())
    return GraphInfo(ref, description, tuple(graph_roles(compiled)))


def main() -> None:
    """Console-script entry point. Usage errors (a missing option, a value out of range) exit 2 as click
    reports them, and with `--json` still print the one JSON object on stdout."""
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if not (hasattr(exc, "exit_code") and hasattr(exc, "show") and hasattr(exc, "format_message")):
            raise
        exc.show()  # (a click usage error: the message and the command's usage line)
        if exc.exit_code == 2 and "--json" in sys.argv[1:]:
            error = {"type": "UsageError", "message": _usage_message(exc)}
            keys = ("run_id", "status", "output", "usage", "budget")
            payload = {**dict.fromkeys(keys), "status": "error", "error": error}
            sys.stdout.write(json.dumps(payload) + "\n")
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: Any) -> str:
    """A click usage error's message, naming the option it is about."""
    message = str(exc.format_message())
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None) or (param.opts[0] if param is not None and param.opts else None)
    if isinstance(hint, list | tuple):
        hint = " / ".join(hint)
    return f"{hint}: {message}" if hint and str(hint) not in message else message
