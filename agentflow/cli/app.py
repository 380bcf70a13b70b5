"""`agentflow run | resume | runs list | runs show | graphs`.

Exit codes: 0 succeeded, 1 failed, 2 bad input or usage, 3 budget exhausted, 4 awaiting approval,
130 cancelled. With `--json`, stdout holds exactly one JSON object; the live view and logs go to stderr.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Run LLM agents as LangGraph workflow graphs.")
runs_app = typer.Typer(no_args_is_help=True, help="Inspect recorded runs.")
app.add_typer(runs_app, name="runs")


def _add_schema_app() -> None:
    from agentflow.cli.sandbox import sandbox_app
    from agentflow.cli.schema import schema_app

    app.add_typer(schema_app, name="schema")
    app.add_typer(sandbox_app, name="sandbox")


_add_schema_app()

DbOpt = Annotated[Path | None, typer.Option("--db", help="Run database (default: $AGENTFLOW_DB or "
                                             "~/.local/share/agentflow/agentflow.db).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No live view; errors only.")]
ModelOpt = Annotated[list[str] | None, typer.Option(
    "--model", "-m", help="Model spec (scripted:FILE.json, transformers:PATH, ...); ROLE=SPEC sets one role's model.")]


def _fail(message: str, code: int = 2, *, error_type: str = "UsageError") -> typer.Exit:
    """One line on stderr; with `--json`, also the one JSON object on stdout (no run: `run_id` null)."""
    typer.echo(f"error: {message}", err=True)
    if "--json" in sys.argv[1:]:
        sys.stdout.write(json.dumps({"run_id": None, "status": "error", "output": None, "usage": None,
                                     "budget": None, "error": {"type": error_type, "message": message}}) + "\n")
    return typer.Exit(code)


def _setup_logging(verbose: int, quiet: bool) -> None:
    import structlog

    level = logging.ERROR if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _split_models(specs: list[str] | None) -> tuple[str | None, dict[str, str]]:
    default, roles = None, {}
    for spec in specs or []:
        head, sep, tail = spec.partition("=")
        if sep and head.isidentifier() and ":" not in head:
            roles[head] = tail
        elif default is not None:
            raise _fail(f"--model given twice without a role ({default!r}, {spec!r}); use ROLE=SPEC for roles")
        else:
            default = spec
    return default, roles


def _read_input(value: str) -> Any:
    text = sys.stdin.read() if value == "-" else value
    if not text.strip():
        raise _fail("the input is empty")
    return text


def _emit_result(result: Any, as_json: bool, console: Any) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, default=str) + "\n")
        return
    if result.status == "succeeded":
        output = result.output
        typer.echo(output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, indent=2))
    elif result.error:
        console.print(f"[red]{result.error['type']}: {result.error['message']}[/]", markup=True)
    elif result.partial is not None:
        console.print(f"[yellow]partial result:[/] {result.partial}", markup=True, highlight=False)
    if result.status == "awaiting_approval":
        from agentflow.cli.render import pending_table

        console.print(pending_table([{**c, "run_id": result.run_id} for c in result.pending]))
        console.print(f"waiting for decisions: agentflow approve|reject|answer {result.run_id} ...", highlight=False)
    console.print(f"run id: {result.run_id}", highlight=False)


async def _with_signals(runner: Any, run_id: str, start: Any) -> Any:
    """Run `start()`; SIGINT / SIGTERM cancel it (the run is recorded as cancelled and stays resumable)."""
    import anyio

    result, error = None, None
    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch)
        try:
            result = await start()
        except Exception as exc:  # raised outside the task group, so it is not wrapped in an ExceptionGroup
            error = exc
        tg.cancel_scope.cancel()
    if error is not None:
        raise error
    return result if result is not None else runner.result_of(run_id)


def _budget(max_steps: int | None, max_tokens: int | None, max_cost: float | None, max_time: float | None,
            max_tool_calls: int | None, base: Any = None) -> Any:
    from agentflow.budget import DEFAULT_BUDGET

    return (base or DEFAULT_BUDGET).with_overrides(max_steps=max_steps, max_tokens=max_tokens,
                                                   max_cost_usd=max_cost, max_wall_s=max_time,
                                                   max_tool_calls=max_tool_calls)


def _execute(db: Path | None, as_json: bool, verbose: int, quiet: bool, run_id_of: Any, start: Any) -> None:
    """Shared driver of run / resume / approve / reject / answer / fork: logging, the live view, signals,
    inline approval prompts in a terminal, errors -> exit codes, the result."""
    import anyio
    from rich.console import Console

    from agentflow.cli.render import LiveView
    from agentflow.exceptions import UserError
    from agentflow.runner import Runner

    _setup_logging(verbose, quiet)
    console = Console(stderr=True, highlight=False)
    view = None if quiet else LiveView(console, verbose=verbose > 0)
    interactive = not as_json and sys.stdin.isatty() and sys.stderr.isatty()

    async def main() -> Any:
        async with Runner(db) as runner:
            run_id = run_id_of(runner)
            result = await _with_signals(runner, run_id, lambda: start(runner, run_id, view))
            while result.status == "awaiting_approval" and interactive:
                from agentflow.cli.prompts import ask_decisions

                decisions = await anyio.to_thread.run_sync(ask_decisions, console, result.pending)
                try:
                    result = await _with_signals(runner, run_id, lambda d=decisions: runner.decide(
                        run_id, d, on_event=view))
                except UserError as exc:  # an invalid edit: the run stays paused, ask again
                    console.print(f"[red]{exc}[/]")
                    result = runner.result_of(run_id)
            return result

    try:
        result = anyio.run(main)
    except UserError as exc:
        raise _fail(str(exc), error_type=type(exc).__name__) from None
    _emit_result(result, as_json, console)
    _exit_now_if_threads_linger(result.exit_code)
    raise typer.Exit(result.exit_code)


def _exit_now_if_threads_linger(code: int) -> None:
    """A cancelled sync tool keeps its worker thread (Python cannot kill threads): don't wait for it."""
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@app.command()
def run(
    graph: Annotated[str, typer.Argument(help="Graph file (path.py or path.py:factory) or bundled graph name.")],
    input: Annotated[str, typer.Option("--input", "-i", help="The request, or - to read stdin.")],
    model: ModelOpt = None,
    db: DbOpt = None,
    max_steps: Annotated[int | None, typer.Option(min=0, help="Max model decisions (default 25).")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=0, help="Max input+output tokens (default 200000).")] = None,
    max_cost: Annotated[float | None, typer.Option(min=0, help="Max cost in USD (default 1.0).")] = None,
    max_time: Annotated[float | None, typer.Option(min=0, help="Max wall time in seconds (default 600).")] = None,
    max_tool_calls: Annotated[int | None, typer.Option(min=0, help="Max tool calls (default 100).")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (local models).")] = None,
    temperature: Annotated[float, typer.Option(min=0, help="Sampling temperature.")] = 0.0,
    max_new_tokens: Annotated[int | None, typer.Option(
        min=1, help="Max tokens per model decision (default: the minimum that guarantees a complete decision).")] = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Run GRAPH on a request and show its steps live."""
    text = _read_input(input)
    default_model, role_models = _split_models(model)

    def start(runner: Any, run_id: str, view: Any) -> Any:
        from agentflow.models.base import SamplingSettings

        budget = _budget(max_steps, max_tokens, max_cost, max_time, max_tool_calls)
        settings = SamplingSettings(temperature=temperature, max_tokens=max_new_tokens, seed=seed)
        return runner.run(graph, text, model=default_model, models=role_models, budget=budget, settings=settings,
                          run_id=run_id, on_event=view)

    from agentflow.runner import new_run_id

    _execute(db, as_json, verbose, quiet, lambda runner: new_run_id(), start)


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
    default_model, role_models = _split_models(model)

    def start(runner: Any, rid: str, view: Any) -> Any:
        from agentflow.budget import Budget

        budget = _budget(max_steps, max_tokens, max_cost, max_time, max_tool_calls,
                         base=Budget.from_dict(runner.store.get_run(rid).budget))
        return runner.resume(rid, model=default_model, models=role_models, budget=budget, on_event=view)

    _execute(db, as_json, verbose, quiet, lambda runner: runner.store.get_run(run_id).id, start)


def _decide(run_id: str, decisions: list[Any], db: Path | None, as_json: bool, verbose: int, quiet: bool) -> None:
    _execute(db, as_json, verbose, quiet, lambda runner: runner.store.get_run(run_id).id,
             lambda runner, rid, view: runner.decide(rid, decisions, on_event=view))


def _json_arg(value: str, what: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _fail(f"{what} is not valid JSON: {exc.msg} at char {exc.pos}") from None


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    call: Annotated[str | None, typer.Option("--call", help="The call to approve (default: all pending).")] = None,
    edit: Annotated[str | None, typer.Option("--edit", help="JSON arguments replacing the call's.")] = None,
    db: DbOpt = None, as_json: JsonOpt = False, verbose: VerboseOpt = 0, quiet: QuietOpt = False,
) -> None:
    """Approve pending tool calls (optionally with edited arguments); the run continues once all are decided."""
    from agentflow.approval import Decision

    arguments = _json_arg(edit, "--edit") if edit is not None else None
    _decide(run_id, [Decision(action="approve", call_id=call, arguments=arguments)], db, as_json, verbose, quiet)


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What the model is told instead of a result.")],
    call: Annotated[str | None, typer.Option("--call", help="The call to reject (default: all pending).")] = None,
    db: DbOpt = None, as_json: JsonOpt = False, verbose: VerboseOpt = 0, quiet: QuietOpt = False,
) -> None:
    """Reject pending tool calls; the model sees the message as the observation."""
    from agentflow.approval import Decision

    _decide(run_id, [Decision(action="reject", call_id=call, message=message)], db, as_json, verbose, quiet)


@app.command()
def answer(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    call: Annotated[str, typer.Option("--call", help="The call to answer.")],
    result: Annotated[str, typer.Option("--result", help="JSON result standing in for the tool's.")],
    db: DbOpt = None, as_json: JsonOpt = False, verbose: VerboseOpt = 0, quiet: QuietOpt = False,
) -> None:
    """Answer a pending call with a result in the tool's place (the tool does not run)."""
    from agentflow.approval import Decision

    value = _json_arg(result, "--result")
    _decide(run_id, [Decision(action="answer", call_id=call, result=value)], db, as_json, verbose, quiet)


@app.command()
def pending(
    run_id: Annotated[str | None, typer.Argument(help="One run (default: every paused run).")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the tool calls paused runs are waiting on."""
    from agentflow.exceptions import UserError

    store = _open_store(db)
    try:
        records = [store.get_run(run_id)] if run_id else store.list_runs(limit=1000, status="awaiting_approval")
    except UserError as exc:
        raise _fail(str(exc), error_type=type(exc).__name__) from None
    calls = [{**c, "run_id": r.id} for r in records if r.status == "awaiting_approval" for c in (r.pending or [])]
    if as_json:
        keys = ("run_id", "call_id", "tool", "arguments", "reasoning", "unknown_outcome", "decision")
        sys.stdout.write(json.dumps([{k: c.get(k) for k in keys} for c in calls], ensure_ascii=False) + "\n")
        return
    from rich.console import Console

    from agentflow.cli.render import pending_table

    if not calls:
        typer.echo("no pending calls" + (f" (run {records[0].id} is {records[0].status})" if run_id else ""))
        return
    Console().print(pending_table(calls))


def _open_store(db: Path | None) -> Any:
    from agentflow.exceptions import UserError
    from agentflow.store import RunStore, resolve_db_path

    path = resolve_db_path(db)
    if not path.exists():
        raise _fail(f"no run database at {path}")
    try:
        return RunStore(path)
    except UserError as exc:
        raise _fail(str(exc), error_type=type(exc).__name__) from None


@runs_app.command("list")
def runs_list(
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List recorded runs, newest first."""
    store = _open_store(db)
    records = store.list_runs(limit=limit, status=status)
    if as_json:
        from agentflow.result import RunResult

        rows = [{**RunResult.from_record(r).to_json(), "graph": r.graph, "created_at": r.created_at,
                 "parent_id": r.parent_id, "forked_from": r.forked_from} for r in records]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=str) + "\n")
        return
    from rich.console import Console

    from agentflow.cli.render import runs_table

    Console().print(runs_table(records))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: its record and its trace, event by event."""
    from agentflow.exceptions import UserError

    store = _open_store(db)
    try:
        record = store.get_run(run_id)
    except UserError as exc:
        raise _fail(str(exc), error_type=type(exc).__name__) from None
    events = store.events(record.id)
    if as_json:
        import dataclasses

        payload = {"run": dataclasses.asdict(record), "events": [dataclasses.asdict(e) for e in events]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        return
    from rich.console import Console

    from agentflow.cli.render import DEFAULT_MODEL_LABEL, event_detail, short

    console = Console(highlight=False)
    console.print(f"[bold]run {record.id}[/] · {record.status}"
                  + (f" (budget '{record.budget_exhausted}')" if record.budget_exhausted else ""))
    console.print(f"graph {record.graph} · model {record.model or DEFAULT_MODEL_LABEL} · seed {record.seed} · created {record.created_at}",
                  markup=False)
    console.print(f"input: {short(record.input, 300)}", markup=False)
    console.print(f"usage: {json.dumps(record.usage)}", markup=False)
    if record.output is not None:
        console.print(f"output: {short(record.output, 300)}", markup=False)
    if record.error:
        console.print(f"error: {record.error['type']}: {record.error['message']}", markup=False)
    for e in events:
        step = e.step if e.step is not None else "-"
        console.print(f"{e.seq:>4} {e.ts[11:23]} step {step:>3} {e.kind:<15} {event_detail(e.kind, e.data)}",
                      markup=False)


@runs_app.command("history")
def runs_history(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
    values: Annotated[bool, typer.Option("--values", help="Include each checkpoint's state (with --json).")] = False,
) -> None:
    """List a run's checkpoints: number, step, the node that wrote it, the node(s) due next."""
    import anyio

    from agentflow.exceptions import UserError
    from agentflow.runner import Runner

    async def main() -> Any:
        async with Runner(db) as runner:
            return await runner.history(run_id)

    _open_store(db)
    try:
        checkpoints = anyio.run(main)
    except UserError as exc:
        raise _fail(str(exc), error_type=type(exc).__name__) from None
    if as_json:
        sys.stdout.write(json.dumps([c.as_dict(with_values=values) for c in checkpoints], ensure_ascii=False,
                                    default=str) + "\n")
        return
    for c in checkpoints:
        typer.echo(f"{c.number:>3}  step {c.step:>3}  after {c.after or '-':<10} next {','.join(c.next) or '(end)'}"
                   f"  {c.created_at[:23]}")


@runs_app.command("fork")
def runs_fork(
    run_id: Annotated[str, typer.Argument(help="The run to fork.")],
    at: Annotated[int, typer.Option("--at", min=0, help="Checkpoint number (see `runs history`).")],
    set_: Annotated[str | None, typer.Option("--set", help="JSON state edits: {key: value} or {\"/json/pointer\": value}.")] = None,
    model: ModelOpt = None,
    db: DbOpt = None, as_json: JsonOpt = False, verbose: VerboseOpt = 0, quiet: QuietOpt = False,
) -> None:
    """Start a new run from checkpoint N of RUN_ID, with edited state, and run it."""
    edits = _json_arg(set_, "--set") if set_ is not None else None
    default_model, role_models = _split_models(model)
    holder: dict[str, Any] = {}

    def run_id_of(runner: Any) -> str:
        from agentflow.runner import new_run_id

        holder["parent"] = runner.store.get_run(run_id).id
        return new_run_id()

    def start(runner: Any, new_id: str, view: Any) -> Any:
        return runner.fork(holder["parent"], at=at, edits=edits, model=default_model, models=role_models,
                           on_event=view, run_id=new_id)

    _execute(db, as_json, verbose, quiet, run_id_of, start)


@app.command()
def graphs() -> None:
    """List the graphs that ship with agentflow."""
    from agentflow.loader import bundled_graphs

    for name in bundled_graphs():
        typer.echo(name)


def main() -> None:
    """Console-script entry point."""
    app()
