"""Driving a run from the command line: the live view, signals (SIGINT / SIGTERM cancel, the run stays
resumable), inline approval prompts in a terminal, errors -> exit codes, and the result on stdout."""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

import typer
from rich.markup import escape

from agentflow.cli.common import fail, setup_logging
from agentflow.status import RunStatus

__all__ = ["budget_of", "context_values", "execute"]


def emit_result(result: Any, as_json: bool, console: Any, *, quiet: bool = False) -> None:
    """The result: the answer on stdout (with --json, the one JSON object); on stderr what the live view did not
    already say (an error only once) and how to go on. `quiet`: only the answer and errors."""
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, default=str) + "\n")
        return
    if result.ok:
        output = result.output
        typer.echo(output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, indent=2))
    elif result.error:
        if quiet:  # (otherwise the live view has printed it)
            console.print(f"[red]{result.error['type']}: {result.error['message']}[/]", markup=True)
    elif result.partial is not None and not quiet:
        partial = result.partial
        text = partial if isinstance(partial, str) else json.dumps(partial, ensure_ascii=False, default=str)
        console.print(f"[yellow]partial result:[/] {escape(text)}", markup=True, highlight=False)
    if result.status is RunStatus.AWAITING_APPROVAL:
        if not quiet:
            from agentflow.cli.render import pending_table

            console.print(pending_table(result.pending))
        console.print(
            f"waiting for decisions: agentflow approve|reject|answer {result.run_id} ...", highlight=False
        )
    elif result.status is RunStatus.CANCELLED:
        console.print(f"cancelled; continue it with: agentflow resume {result.run_id}", highlight=False)
    elif result.status is RunStatus.BUDGET_EXHAUSTED:
        flag = {
            "steps": "--max-steps",
            "tokens": "--max-tokens",
            "cost": "--max-cost",
            "time": "--max-time",
            "tool_calls": "--max-tool-calls",
        }.get(result.budget or "", "--max-steps")
        console.print(
            f"continue it with a larger budget: agentflow resume {result.run_id} {flag} N", highlight=False
        )
    if not quiet:
        console.print(f"run id: {result.run_id}", highlight=False)


async def with_signals(runner: Any, run_id: str, start: Any) -> Any:
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
    return result if result is not None else await runner.result_of(run_id)


def context_values(pairs: list[str] | None) -> dict[str, str]:
    """`--context KEY=VALUE` options as a dict (a key given twice: the last wins)."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise fail(f"--context {pair!r}: write KEY=VALUE with KEY a name like user_id")
        values[key.strip()] = value
    return values


def budget_of(
    max_steps: int | None,
    max_tokens: int | None,
    max_cost: float | None,
    max_time: float | None,
    max_tool_calls: int | None,
    base: Any = None,
) -> Any:
    from agentflow.budget import DEFAULT_BUDGET

    return (base or DEFAULT_BUDGET).with_overrides(
        max_steps=max_steps,
        max_tokens=max_tokens,
        max_cost_usd=max_cost,
        max_wall_s=max_time,
        max_tool_calls=max_tool_calls,
    )


def execute(
    db: str | None,
    as_json: bool,
    verbose: int,
    quiet: bool,
    run_id_of: Any,
    start: Any,
    *,
    otlp: str | None = None,
    otlp_content: bool = False,
) -> None:
    """Shared driver of run / resume / approve / reject / answer / fork: logging, the live view, OpenTelemetry
    export (`--otlp`, or the standard OTLP environment variables), signals, inline approval prompts in a
    terminal, errors -> exit codes, the result."""
    import anyio
    from rich.console import Console

    from agentflow.cli.render import LiveView
    from agentflow.exceptions import AgentflowError, UserError
    from agentflow.runner import Runner

    setup_logging(verbose, quiet)
    console = Console(stderr=True, highlight=False)
    shown = None if quiet else LiveView(console, verbose=verbose > 0)
    interactive = not as_json and sys.stdin.isatty() and sys.stderr.isatty()
    sink = _otel_sink(otlp, otlp_content)
    view: Any = shown
    if sink is not None:
        from agentflow.otel import tee

        view = tee(shown, sink)

    async def main() -> Any:
        try:
            return await _main()
        finally:
            if sink is not None:
                await sink.aclose()  # the spans are sent before the result is printed

    async def _main() -> Any:
        from agentflow.cli.memory import cli_index
        from agentflow.store import open_storage, resolve_db_url

        index = cli_index() if resolve_db_url(db).backend == "sqlite" else None  # (vectors: SQLite only)
        async with Runner(storage=open_storage(db, index=index)) as runner:
            run_id = await run_id_of(runner)
            result = await with_signals(runner, run_id, lambda: start(runner, run_id, view))
            while result.status is RunStatus.AWAITING_APPROVAL and interactive:
                from agentflow.cli.prompts import NoMoreInput, ask_decisions

                try:
                    decisions = await anyio.to_thread.run_sync(
                        ask_decisions, console, result.pending, abandon_on_cancel=True
                    )
                except NoMoreInput:  # stdin closed: the run stays paused (exit 4)
                    break
                try:
                    result = await with_signals(
                        runner, run_id, lambda d=decisions: runner.decide(run_id, d, on_event=view)
                    )
                except UserError as exc:  # an invalid edit: the run stays paused, ask again
                    console.print(f"[red]{escape(str(exc))}[/]")
                    result = await runner.result_of(run_id)
            return result

    try:
        result = anyio.run(main)
    except AgentflowError as exc:
        raise fail(str(exc), exc.exit_code, error_type=type(exc).__name__) from None
    emit_result(result, as_json, console, quiet=quiet)
    exit_now_if_threads_linger(result.exit_code)
    raise typer.Exit(result.exit_code)


def _otel_sink(otlp: str | None, include_content: bool) -> Any:
    """The live OpenTelemetry sink for `--otlp URL` or the OTLP environment variables; None when off."""
    import os

    if not otlp and not (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        return None
    from agentflow.exceptions import AgentflowError
    from agentflow.otel import live_sink

    try:
        return live_sink(otlp, include_content=include_content)
    except AgentflowError as exc:
        raise fail(str(exc), exc.exit_code, error_type=type(exc).__name__) from None


def exit_now_if_threads_linger(code: int) -> None:
    """A cancelled sync tool keeps its worker thread (Python cannot kill threads): don't wait for it."""
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
