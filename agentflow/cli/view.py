"""`agentflow runs view | export`: a recorded run as a self-contained HTML page (written or served on
loopback), and its spans sent to OpenTelemetry (an OTLP/HTTP receiver or an OTLP JSON file).

`register(runs_app)` adds both commands to the `runs` sub-app.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agentflow.cli.common import DbOpt, fail, open_store

__all__ = ["register"]


def runs_view(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default: agentflow-run-RUN_ID.html here)."),
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the page on 127.0.0.1 until Ctrl-C (reload to refresh).")
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port for --serve (default 0: any free port).")
    ] = 0,
    no_graph: Annotated[
        bool,
        typer.Option("--no-graph", help="Don't load the run's graph to draw it (e.g. an untrusted file)."),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Write one run as a self-contained HTML page (graph, timeline, messages, tool calls, budgets), or serve it."""
    from agentflow.exceptions import UserError
    from agentflow.viewer import render_run

    store = open_store(db)
    try:
        record_id = store.get_run(run_id).id
        html = render_run(store, record_id, draw_graph=not no_graph)
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None
    if output is not None or not serve:
        path = output or Path(f"agentflow-run-{record_id}.html")
        try:
            path.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {path}: {exc.strerror}") from None
        typer.echo(f"wrote {path} ({len(html.encode()) / 1024:,.0f} KiB): open it in a browser", err=True)
        typer.echo(str(path))
    if not serve:
        return
    from agentflow.viewer import serve as serve_page

    def ready(url: str) -> None:
        typer.echo(f"serving run {record_id} at {url} (loopback only; Ctrl-C to stop)", err=True)
        sys.stderr.flush()

    try:
        serve_page(lambda: render_run(store, record_id, draw_graph=not no_graph), port, on_ready=ready)
    except OSError as exc:
        raise fail(f"cannot serve on 127.0.0.1:{port}: {exc.strerror}") from None


def runs_export(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    otlp: Annotated[
        str | None,
        typer.Option(
            "--otlp", help="OTLP/HTTP receiver (http://host:4318 gets /v1/traces; a URL with a path is kept)."
        ),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Write OTLP JSON to this file instead.")] = None,
    include_content: Annotated[
        bool,
        typer.Option(
            "--include-content", help="Include messages, tool arguments and results (left out by default)."
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Export one run's spans to OpenTelemetry (GenAI semantic conventions; needs the 'otel' extra)."""
    from agentflow.exceptions import UserError

    if (otlp is None) == (file is None):
        raise fail("give exactly one of --otlp URL and --file PATH")
    store = open_store(db)
    try:
        from agentflow.otel import export_run

        record_id = store.get_run(run_id).id
        count = export_run(store, record_id, otlp=otlp, file=file, include_content=include_content)
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None
    typer.echo(f"exported {count} spans of run {record_id} to {otlp or file}")


def register(runs_app: typer.Typer) -> None:
    """Add `view` and `export` to the `runs` sub-app."""
    runs_app.command("view")(runs_view)
    runs_app.command("export")(runs_export)
