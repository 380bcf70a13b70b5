"""What the CLI's commands share: option types, usage errors (with `--json`, still one JSON object), logging,
reading arguments, opening the run database."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")

__all__ = [
    "DbOpt",
    "JsonOpt",
    "McpHttpOpt",
    "McpStdioOpt",
    "ModelOpt",
    "OtlpContentOpt",
    "OtlpOpt",
    "QuietOpt",
    "VerboseOpt",
    "check_graph",
    "fail",
    "json_arg",
    "mcp_servers",
    "open_store",
    "read_input",
    "read_storage",
    "setup_logging",
    "split_models",
]

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="Run database (default: $AGENTFLOW_DB or ~/.local/share/agentflow/agentflow.db).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
VerboseOpt = Annotated[
    int,
    typer.Option(
        "--verbose",
        "-v",
        count=True,
        metavar="",
        show_default=False,
        help="More detail on stderr (-vv: debug).",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No live view; errors only.")]
OtlpOpt = Annotated[
    str | None,
    typer.Option(
        "--otlp",
        metavar="URL",
        help="Send the run's spans live to this OTLP/HTTP receiver (also: $OTEL_EXPORTER_OTLP_ENDPOINT).",
    ),
]
OtlpContentOpt = Annotated[
    bool, typer.Option("--otlp-content", help="Include message contents in the spans (left out by default).")
]
ModelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        metavar="SPEC",
        help="Model spec (scripted:FILE.json, transformers:PATH, ...); ROLE=SPEC sets one role's model.",
    ),
]


def fail(message: str, code: int = 2, *, error_type: str = "UsageError") -> typer.Exit:
    """One line on stderr; with `--json`, also the one JSON object on stdout (no run: `run_id` null)."""
    typer.echo(f"error: {message}", err=True)
    if "--json" in sys.argv[1:]:
        sys.stdout.write(
            json.dumps(
                {
                    "run_id": None,
                    "status": "error",
                    "output": None,
                    "usage": None,
                    "budget": None,
                    "error": {"type": error_type, "message": message},
                }
            )
            + "\n"
        )
    return typer.Exit(code)


def setup_logging(verbose: int, quiet: bool) -> None:
    """Log lines on stderr: warnings by default, `-v` info, `-vv` agentflow's debug lines; dependencies (LangGraph,
    aiosqlite, httpx, ...) say only their warnings unless `-vvv`. `-q`: errors only."""
    import structlog

    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    )
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
    )
    dependencies = logging.ERROR if quiet else (logging.DEBUG if verbose >= 3 else logging.WARNING)
    logging.basicConfig(level=dependencies, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(dependencies)
    logging.getLogger("agentflow").setLevel(level)


def split_models(specs: list[str] | None) -> tuple[str | None, dict[str, str]]:
    """The default model spec and the per-role ones (`ROLE=SPEC`), each checked before anything loads."""
    from agentflow.exceptions import ModelSpecError
    from agentflow.models.spec import check_model_spec

    default: str | None = None
    roles: dict[str, str] = {}
    for spec in specs or []:
        head, sep, tail = spec.partition("=")
        if sep and head.isidentifier() and ":" not in head:
            if head in roles:
                raise fail(f"--model gives role '{head}' twice ({roles[head]!r}, {tail!r})")
            roles[head] = tail
        elif default is not None:
            raise fail(f"--model given twice without a role ({default!r}, {spec!r}); use ROLE=SPEC for roles")
        else:
            default = spec
    for spec in [*([default] if default is not None else []), *roles.values()]:
        try:
            check_model_spec(spec)
        except ModelSpecError as exc:
            raise fail(str(exc), error_type="ModelSpecError") from None
    return default, roles


def check_graph(graph: str) -> None:
    """Fail now (exit 2) if GRAPH names no file and no bundled graph; nothing is imported."""
    from agentflow.exceptions import GraphLoadError
    from agentflow.loader import check_graph_ref

    try:
        check_graph_ref(graph)
    except GraphLoadError as exc:
        raise fail(str(exc), error_type="GraphLoadError") from None


def read_input(value: str) -> Any:
    text = sys.stdin.read() if value == "-" else value
    if not text.strip():
        raise fail("the input is empty")
    return text


def json_arg(value: str, what: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise fail(f"{what} is not valid JSON: {exc.msg} at char {exc.pos}") from None


def read_storage(
    db: str | None, read: Callable[[Any], Awaitable[T]], *, read_only: bool = False, create: bool = False
) -> T:
    """Open the run database `db` (it must exist, unless `create`), run `read(storage)` and return its result;
    a database that cannot be used is a usage error (exit 2). `read_only`: `read` only calls `get_run` /
    `list_runs` / `events`, so a SQLite file is read through the light read-only view (no writer, nothing
    migrated)."""
    import anyio

    from agentflow.exceptions import AgentflowError, UserError
    from agentflow.store import open_storage, resolve_db_url

    try:
        url = resolve_db_url(db)
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None
    if url.backend == "sqlite" and (url.path is None or not url.path.exists()) and not create:
        raise fail(f"no run database at {url}")

    async def main() -> T:
        if read_only and url.backend == "sqlite" and url.path is not None:
            from agentflow.store import RunStore

            with RunStore(url.path) as store:
                return await read(_ReadView(store))
        async with open_storage(url) as storage:
            return await read(storage)

    try:
        return anyio.run(main)
    except AgentflowError as exc:
        raise fail(str(exc), exc.exit_code, error_type=type(exc).__name__) from None


class _ReadView:
    """The read methods of the storage protocol over the synchronous read-only `RunStore`."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def get_run(self, run_id: str) -> Any:
        return self._store.get_run(run_id)

    async def list_runs(self, *, limit: int = 20, status: Any = None) -> Any:
        return self._store.list_runs(limit=limit, status=status)

    async def events(self, run_id: str) -> Any:
        return self._store.events(run_id)


def open_store(db: str | None) -> Any:
    """A synchronous read-only view (`agentflow.store.RunStore`) of the SQLite run database `db`."""
    from agentflow.exceptions import UserError
    from agentflow.store import RunStore, resolve_db_url

    try:
        url = resolve_db_url(db)
        if url.backend != "sqlite" or url.path is None:
            raise fail(f"{url}: this command reads SQLite run databases only")
        return RunStore(url.path)
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None


McpStdioOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mcp-stdio",
        metavar="CMD",
        help='An MCP server to start, "CMD ARGS" (repeatable); its tools join the graph\'s.',
    ),
]
McpHttpOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mcp-http",
        metavar="URL",
        help="An MCP server's streamable-HTTP URL (repeatable); its tools join the graph's.",
    ),
]


def mcp_servers(stdio_specs: list[str], http_urls: list[str]) -> list[Any]:
    """MCP server declarations from `--mcp-stdio "CMD ARGS"` and `--mcp-http URL` (a `ConfigError` for a bad
    one). A server command only ever comes from the command line, never from a model."""
    if not stdio_specs and not http_urls:
        return []
    import shlex

    import agentflow.mcp as mcp
    from agentflow.exceptions import ConfigError

    servers: list[Any] = []
    for spec in stdio_specs:
        try:
            words = shlex.split(spec)
        except ValueError as exc:
            raise ConfigError(f"--mcp-stdio {spec!r}: {exc}") from None
        if not words:
            raise ConfigError("--mcp-stdio needs a command")
        servers.append(mcp.stdio(words[0], words[1:]))
    servers += [mcp.http(url) for url in http_urls]
    return servers
