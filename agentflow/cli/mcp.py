"""`agentflow mcp serve`: agentflow tools as an MCP server, over stdio or streamable HTTP."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

__all__ = ["mcp_app", "parse_host_port"]

mcp_app = typer.Typer(no_args_is_help=True, help="Serve agentflow tools over MCP.")


def _log_to_stderr() -> None:
    """stdout is the protocol in stdio mode: every log line goes to stderr."""
    import structlog

    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
    )
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )


def parse_host_port(value: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets: `[::1]:8000`) -> (host, port); a bare `PORT` means 127.0.0.1."""
    from agentflow.exceptions import ConfigError

    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"--http wants HOST:PORT (got {value!r})") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"--http port must be 0-65535 (got {port})")
    return host, port


@mcp_app.command("serve")
def serve(
    target: Annotated[
        str,
        typer.Argument(
            help="MODULE_OR_FILE[:ATTR]: a module (every tool in it), a .py file, or an attribute holding a tool, a "
            "list of tools or a factory of them. `agentflow.toolkit` serves the bundled tools."
        ),
    ],
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            help="Serve streamable HTTP on HOST:PORT (at /mcp; port 0 picks a free one) instead of stdio.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database for tools that keep data (notes); default: $AGENTFLOW_DB or the user database.",
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --http host (anyone who reaches it can run the tools).",
        ),
    ] = False,
    allow_approval_tools: Annotated[
        bool,
        typer.Option(
            "--allow-approval-tools", help="Serve tools that need human approval (the MCP client must ask)."
        ),
    ] = False,
) -> None:
    """Serve agentflow tools over MCP, with their schemas and hints; calls run through agentflow's executor."""
    from agentflow.exceptions import UserError

    _log_to_stderr()
    try:
        from agentflow.mcp.serve import load_tools, run_server

        tools = load_tools(target)
        address = parse_host_port(http) if http is not None else None
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    def ready(url: str) -> None:
        typer.echo(f"agentflow: serving {len(tools)} tools at {url}", err=True)

    try:
        run_server(
            tools,
            http=address,
            db=db,
            allow_remote=allow_remote,
            allow_approval_tools=allow_approval_tools,
            on_ready=ready,
        )
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
