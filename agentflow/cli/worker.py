"""`agentflow worker` (execute queued runs) and `agentflow cancel` (stop a run wherever it executes)."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from agentflow.cli.common import DbOpt, JsonOpt, QuietOpt, VerboseOpt, fail, setup_logging

__all__ = ["cancel", "worker"]


def worker(
    db: DbOpt = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Runs executed at once.")
    ] = 4,
    lease_ttl: Annotated[
        float,
        typer.Option(
            "--lease-ttl",
            min=0.1,
            help="Seconds a run stays this worker's after its last heartbeat; then another worker may take it.",
        ),
    ] = 30.0,
    poll: Annotated[
        float, typer.Option("--poll", min=0.01, help="Seconds between looks at the queue.")
    ] = 0.5,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Stop after starting this many runs.")
    ] = None,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Execute queued runs (`agentflow run --queue`) from the database, CONCURRENCY at a time, until SIGTERM /
    Ctrl-C (the first one: finish the runs in progress and stop claiming; a second one: cancel them too)."""
    import anyio

    from agentflow.exceptions import AgentflowError
    from agentflow.runner import Runner
    from agentflow.worker import Worker

    setup_logging(verbose, quiet)

    async def main() -> int:
        async with Runner(db, lease_ttl_s=lease_ttl) as runner:
            stop = anyio.Event()
            work = Worker(runner, concurrency=concurrency, poll_s=poll, max_runs=max_runs)
            async with anyio.create_task_group() as tg:

                async def signals() -> None:
                    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
                        async for _ in received:
                            if stop.is_set():
                                tg.cancel_scope.cancel()
                                return
                            typer.echo("agentflow worker: finishing the runs in progress", err=True)
                            stop.set()

                tg.start_soon(signals)
                typer.echo(f"agentflow worker: executing queued runs from {runner.storage.url}", err=True)
                executed = await work.run(stop=stop)
                tg.cancel_scope.cancel()
            return executed

    try:
        executed = anyio.run(main)
    except AgentflowError as exc:
        raise fail(str(exc), exc.exit_code, error_type=type(exc).__name__) from None
    typer.echo(f"agentflow worker: {executed} runs executed", err=True)


def cancel(
    run_id: Annotated[str, typer.Argument(help="The run to stop.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop a run: a queued or paused run at once, a running one (in any process) at its next heartbeat."""
    import json
    import sys

    from agentflow.cli.common import read_storage
    from agentflow.runner import Runner

    async def stop(storage: Any) -> Any:
        return await Runner(storage=storage).cancel(run_id)

    result = read_storage(db, stop)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, default=str) + "\n")
    else:
        typer.echo(
            f"run {result.run_id}: {result.status}"
            + (" (stop requested)" if result.status == "running" else "")
        )
