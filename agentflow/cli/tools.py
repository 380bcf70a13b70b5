"""`agentflow tools list`: every tool a run would offer, with its source, hints, argument schema and whether
guaranteed decoding supports the schema."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from agentflow.cli.common import mcp_servers

__all__ = ["tools_app"]

tools_app = typer.Typer(no_args_is_help=True, help="Inspect the tools a graph and MCP servers offer.")


def _graph_parts(graph: str, servers: list[Any]) -> tuple[list[Any], list[Any]]:
    """The local tools and the tool sources of `graph` (a bundled name or a graph file), `servers` included."""
    from agentflow.loader import resolve_graph
    from agentflow.tooling.source import graph_sources

    builder, _ = resolve_graph(graph, servers)
    compiled = builder.compile() if hasattr(builder, "compile") else builder
    sources, local = graph_sources(compiled)
    return local, sources


def _row(tool: Any, source: str) -> dict[str, Any]:
    from agentflow.decoding import check_schema

    report = check_schema(tool.parameters)
    decoding: dict[str, Any] = {"supported": report.supported}
    if not report.supported:
        decoding.update(keyword=report.keyword, pointer=report.pointer, reason=report.reason)
    return {
        "name": tool.name,
        "source": source,
        "description": tool.description,
        "read_only": tool.read_only,
        "destructive": tool.destructive,
        "idempotent": tool.idempotent,
        "parameters": tool.parameters,
        "output_schema": tool.output_schema,
        "decoding": decoding,
    }


def _arguments(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    parts = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type", "any") if isinstance(prop, dict) else "any"
        parts.append(
            f"{name}{'' if name in required else '?'}: {kind if isinstance(kind, str) else '|'.join(kind)}"
        )
    return ", ".join(parts) or "-"


@tools_app.command("list")
def list_tools(
    graph: Annotated[
        str | None,
        typer.Argument(
            help="A graph (bundled name or file): its tools and MCP servers; default: none, or the "
            "toolkit's tools when no server is given either."
        ),
    ] = None,
    mcp_stdio: Annotated[
        list[str] | None, typer.Option("--mcp-stdio", help='An MCP server to start: "CMD ARGS" (repeatable).')
    ] = None,
    mcp_http: Annotated[
        list[str] | None, typer.Option("--mcp-http", help="An MCP server's streamable-HTTP URL (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """List tools with their source, hints (read-only, destructive, idempotent), arguments and whether
    guaranteed decoding supports their schema (else the keyword and JSON Pointer it cannot enforce)."""
    import anyio

    from agentflow.exceptions import UserError

    async def collect() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        import agentflow.mcp as mcp

        servers = mcp_servers(mcp_stdio or [], mcp_http or [])
        if graph:
            local, servers = _graph_parts(graph, servers)
        elif servers:
            local = []
        else:
            from agentflow.toolkit import DEFAULT_TOOLS

            local = list(DEFAULT_TOOLS)
        source = f"graph {graph}" if graph else "agentflow.toolkit"
        rows = [_row(t, source) for t in local]
        if not servers:
            return rows, []
        async with mcp.connect(servers, local_tools=local) as toolset:
            rows += [_row(t, f"mcp:{toolset.sources[t.name]}") for t in toolset.tools]
            return rows, toolset.describe()

    _quiet_logs()
    try:
        rows, servers = anyio.run(collect)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps({"tools": rows, "servers": servers}, ensure_ascii=False) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    table.add_column("tool", no_wrap=True)
    table.add_column("source", no_wrap=True)
    for column in ("hints", "arguments", "guaranteed decoding"):
        table.add_column(column, overflow="fold")
    for row in rows:
        hints = (
            " ".join(
                label
                for key, label in (
                    ("read_only", "read-only"),
                    ("destructive", "destructive"),
                    ("idempotent", "idempotent"),
                )
                if row[key]
            )
            or "-"
        )
        d = row["decoding"]
        decoding = "yes" if d["supported"] else f"no: keyword '{d['keyword']}' at {d['pointer'] or '/'}"
        table.add_row(row["name"], row["source"], hints, _arguments(row["parameters"]), decoding)
    Console(highlight=False).print(table)


def _quiet_logs() -> None:
    """Servers' stderr and our logs go to stderr, warnings only."""
    import logging

    import structlog

    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
    )
