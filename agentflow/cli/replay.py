"""`agentflow replay RUN_ID`: re-execute a recorded run from its recording and say whether it matched.

Exit codes: 0 the replay matched (same decisions, output and usage; with `--fork-at`, the fork's own run
exit code), 1 it diverged (the first divergence is printed: step, agent, expected, actual), 2 bad input,
130 cancelled. With `--json`, stdout holds one object: run_id, original, mode, status, output, usage, diverged.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from agentflow.cli.common import DbOpt, JsonOpt, QuietOpt, VerboseOpt, fail, json_arg, setup_logging

__all__ = ["replay"]


def replay(
    run_id: Annotated[str, typer.Argument(help="The recorded run (a unique prefix is enough).")],
    live_tools: Annotated[
        bool, typer.Option("--live-tools", help="Run the tools for real (the model's outputs stay recorded).")
    ] = False,
    live_model: Annotated[
        str | None,
        typer.Option(
            "--live-model",
            metavar="SPEC",
            help="Ask this model instead (recorded tool results answer the calls the original made).",
        ),
    ] = None,
    until: Annotated[int | None, typer.Option("--until", min=1, metavar="N", help="Stop at step N.")] = None,
    fork_at: Annotated[
        int | None,
        typer.Option(
            "--fork-at", min=0, metavar="N", help="Continue live from checkpoint N (`runs history`), edited."
        ),
    ] = None,
    set_: Annotated[
        str | None,
        typer.Option(
            "--set", metavar="JSON", help='State edits for --fork-at: {key: value} or {"/pointer": value}.'
        ),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Replay a recorded run: offline, with its recorded model outputs and tool results (nothing executed),
    as a new run linked to it; report the first divergence, if any."""
    edits = json_arg(set_, "--set") if set_ is not None else None
    if live_model is not None:
        from agentflow.cli.common import split_models

        split_models([live_model])  # checked before anything loads
    import anyio
    from rich.console import Console

    from agentflow.cli.driver import with_signals
    from agentflow.cli.render import LiveView
    from agentflow.exceptions import AgentflowError
    from agentflow.runner import Runner

    setup_logging(verbose, quiet)
    console = Console(stderr=True, highlight=False)
    view = None if quiet else LiveView(console, verbose=verbose > 0)

    async def main() -> Any:
        async with Runner(db) as runner:
            original = (await runner.storage.get_run(run_id)).id
            holder: dict[str, Any] = {}

            async def go() -> Any:
                holder["replay"] = await runner.replay(
                    original,
                    live_tools=live_tools,
                    live_model=live_model,
                    until=until,
                    fork_at=fork_at,
                    edits=edits,
                    on_event=view,
                )
                return holder["replay"].result

            await with_signals(runner, original, go)
            return holder.get("replay")

    try:
        outcome = anyio.run(main)
    except AgentflowError as exc:
        raise fail(str(exc), exc.exit_code, error_type=type(exc).__name__) from None
    if outcome is None:  # cancelled
        raise typer.Exit(130)
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), ensure_ascii=False, default=str) + "\n")
    else:
        _say(console, outcome)
    if fork_at is not None:
        raise typer.Exit(outcome.result.exit_code)
    raise typer.Exit(0 if outcome.diverged is None else 1)


def _say(console: Any, outcome: Any) -> None:
    result = outcome.result
    where = f"replay {result.run_id} of {outcome.original} ({outcome.mode})"
    if outcome.diverged is None:
        if outcome.mode.startswith("fork"):
            console.print(f"{where}: {result.status}")
        else:
            console.print(
                f"[green]{where}: matched[/] — {outcome.model_calls_replayed} model calls and "
                f"{outcome.tool_results_replayed} tool results from the recording; same output and usage"
            )
    else:
        d = outcome.diverged
        console.print(f"[red]{where}: diverged[/] ({d.what}): {d.message}", markup=True)
        if d.expected is not None or d.actual is not None:
            console.print(f"  expected: {_text(d.expected)}", markup=False)
            console.print(f"  actual:   {_text(d.actual)}", markup=False)
    if result.output is not None:
        output = result.output
        typer.echo(output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, indent=2))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
