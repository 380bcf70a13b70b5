"""`agentflow runs list | show | history | fork` (and `view | export`, cli/view.py): recorded runs, their traces
and checkpoints."""

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
    fail,
    json_arg,
    read_storage,
    split_models,
)
from agentflow.cli.driver import execute
from agentflow.cli.view import register as register_views
from agentflow.status import RunStatus

__all__ = ["runs_app"]

runs_app = typer.Typer(no_args_is_help=True, help="Inspect recorded runs.")


@runs_app.command("list")
def runs_list(
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs with this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List recorded runs, newest first."""
    records = read_storage(db, lambda storage: storage.list_runs(limit=limit, status=status), read_only=True)
    if as_json:
        from agentflow.result import RunResult

        rows = [
            {
                **RunResult.from_record(r).to_json(),
                "graph": r.graph,
                "created_at": r.created_at,
                "parent_id": r.parent_id,
                "forked_from": r.forked_from,
            }
            for r in records
        ]
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

    async def read(storage: Any) -> tuple[Any, Any]:
        record = await storage.get_run(run_id)
        return record, await storage.events(record.id)

    record, events = read_storage(db, read, read_only=True)
    if as_json:
        import dataclasses

        payload = {"run": dataclasses.asdict(record), "events": [dataclasses.asdict(e) for e in events]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        return
    from rich.console import Console

    from agentflow.cli.render import DEFAULT_MODEL_LABEL, event_detail, short
    from agentflow.events import from_trace

    console = Console(highlight=False)
    console.print(
        f"[bold]run {record.id}[/] · {record.status}"
        + (f" (budget '{record.budget_exhausted}')" if record.budget_exhausted else "")
    )
    console.print(
        f"graph {record.graph} · model {record.model or DEFAULT_MODEL_LABEL} · seed {record.seed} · created {record.created_at}",
        markup=False,
    )
    console.print(f"input: {short(record.input, 300)}", markup=False)
    console.print(f"usage: {json.dumps(record.usage)}", markup=False)
    if record.output is not None:
        console.print(f"output: {short(record.output, 300)}", markup=False)
    if record.error:
        console.print(f"error: {record.error['type']}: {record.error['message']}", markup=False)
    width = max((len(e.agent) for e in events), default=0)
    for e in events:
        step = e.step if e.step is not None else "-"
        event = from_trace(e.kind, e.run_id, e.data)
        agent = f" {e.agent:<{width}}" if width else ""
        console.print(
            f"{e.seq:>4} {e.ts[11:23]} step {step:>3}{agent} {e.kind:<16} {event_detail(event)}", markup=False
        )
        trace = getattr(event, "traceback", None)
        if trace:
            console.print("       " + trace.rstrip().replace("\n", "\n       "), markup=False)


@runs_app.command("diff")
def runs_diff(
    run_a: Annotated[str, typer.Argument(help="The first run (a unique prefix is enough).")],
    run_b: Annotated[str, typer.Argument(help="The run to compare with it.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare two runs step by step (aligned per agent, tolerant of inserted steps): decisions, tool
    arguments, observations, tokens, timings, then status, output and usage. Exit 0 when they are the same,
    1 when they differ."""
    from agentflow.replayer.diff import diff_runs

    async def read(storage: Any) -> Any:
        a = await storage.get_run(run_a)
        b = await storage.get_run(run_b)
        return diff_runs(a, await storage.events(a.id), b, await storage.events(b.id))

    diff = read_storage(db, read, read_only=True)
    if as_json:
        sys.stdout.write(json.dumps(diff.as_dict(), ensure_ascii=False, default=str) + "\n")
        raise typer.Exit(0 if diff.identical else 1)
    from rich.console import Console

    from agentflow.cli.render import short

    console = Console(highlight=False)
    if diff.identical:
        console.print(f"runs {diff.a} and {diff.b}: the same {diff.same_steps} decisions, output and usage")
        raise typer.Exit(0)
    console.print(f"a = {diff.a}, b = {diff.b}: {diff.same_steps} decisions the same", markup=False)
    for step in diff.steps:
        where = f"step {step.step_a if step.step_a is not None else '-'} / {step.step_b if step.step_b is not None else '-'}"
        if step.only_in:
            console.print(f"{where} {step.agent}: only in {step.only_in}", markup=False)
            continue
        console.print(f"{where} {step.agent}:", markup=False)
        for change in step.changes:
            console.print(
                f"    {change['field']}: {short(change['a'], 100)}  ->  {short(change['b'], 100)}",
                markup=False,
            )
    for change in diff.run:
        console.print(
            f"run {change['field']}: {short(change['a'], 100)}  ->  {short(change['b'], 100)}", markup=False
        )
    raise typer.Exit(1)


@runs_app.command("history")
def runs_history(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
    values: Annotated[
        bool, typer.Option("--values", help="Include each checkpoint's state (with --json).")
    ] = False,
) -> None:
    """List a run's checkpoints: number, step, the node that wrote it, the node(s) due next."""
    from agentflow.runner import Runner

    async def read(storage: Any) -> Any:
        return await Runner(storage=storage).history(run_id)

    checkpoints = read_storage(db, read)
    if as_json:
        sys.stdout.write(
            json.dumps([c.as_dict(with_values=values) for c in checkpoints], ensure_ascii=False, default=str)
            + "\n"
        )
        return
    for c in checkpoints:
        typer.echo(
            f"{c.number:>3}  step {c.step:>3}  after {c.after or '-':<10} next {','.join(c.next) or '(end)'}"
            f"  {c.created_at[:23]}"
        )


@runs_app.command("fork")
def runs_fork(
    run_id: Annotated[str, typer.Argument(help="The run to fork.")],
    at: Annotated[int, typer.Option("--at", min=0, help="Checkpoint number (see `runs history`).")],
    set_: Annotated[
        str | None, typer.Option("--set", help='JSON state edits: {key: value} or {"/json/pointer": value}.')
    ] = None,
    model: ModelOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Start a new run from checkpoint N of RUN_ID, with edited state, and run it."""
    edits = json_arg(set_, "--set") if set_ is not None else None
    default_model, role_models = split_models(model)
    holder: dict[str, Any] = {}

    async def run_id_of(runner: Any) -> str:
        from agentflow.runner import new_run_id

        holder["parent"] = (await runner.storage.get_run(run_id)).id
        return new_run_id()

    def start(runner: Any, new_id: str, view: Any) -> Any:
        return runner.fork(
            holder["parent"],
            at=at,
            edits=edits,
            model=default_model,
            models=role_models,
            on_event=view,
            run_id=new_id,
        )

    execute(db, as_json, verbose, quiet, run_id_of, start)


@runs_app.command("prune")
def runs_prune(
    older_than: Annotated[str, typer.Option("--older-than", help="Age, e.g. 30d, 12h, 90m.")],
    keep_failed: Annotated[bool, typer.Option("--keep-failed", help="Keep failed runs.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete finished runs older than an age, with their traces, journals and checkpoints. Runs still
    executing or waiting for a human are kept."""
    from datetime import UTC, datetime

    cutoff = datetime.now(UTC) - parse_age(older_than)
    report = read_storage(db, lambda s: s.prune(older_than=cutoff, keep_failed=keep_failed, dry_run=dry_run))
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "runs": report.runs,
                    "events": report.events,
                    "checkpoints": report.checkpoints,
                    "dry_run": dry_run,
                }
            )
            + "\n"
        )
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb} {len(report.runs)} run(s), {report.events} event(s), {report.checkpoints} checkpoint(s)"
    )


@runs_app.command("compact")
def runs_compact(
    run_id: Annotated[str, typer.Argument(help="A finished run.")],
    db: DbOpt = None,
) -> None:
    """Keep only the newest checkpoint of a finished run (its history is then that one checkpoint)."""
    deleted = read_storage(db, lambda s: s.compact(run_id))
    typer.echo(f"deleted {deleted} checkpoint(s)")


def parse_age(text: str) -> Any:
    """`30d`, `12h`, `90m`, `45s` -> a timedelta; anything else is a usage error."""
    import re
    from datetime import timedelta

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms])\s*", text)
    if match is None:
        raise fail(f"--older-than {text!r}: expected a number and a unit, e.g. 30d, 12h, 90m or 45s")
    unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[match.group(2)]
    return timedelta(**{unit: float(match.group(1))})


register_views(runs_app)
