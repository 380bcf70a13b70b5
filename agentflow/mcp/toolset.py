"""`connect(servers)`: open MCP servers for as long as a scope lives and offer their tools as agentflow `Tool`s.

    async with agentflow.mcp.connect([agentflow.mcp.stdio("uvx", ["mcp-server-time"])]) as toolset:
        result = await runner.run(agentflow.react_graph(toolset.tools), "What time is it in Tokyo?")

Servers start concurrently, each with one owner task (see `connection.py`); the scope's exit — normal, error
or cancellation — closes them all and reaps their processes. Names are checked across every source: two
sources offering the same name is a `ToolNameConflictError` naming both (a per-server `prefix` resolves it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import structlog
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from agentflow.exceptions import (
    AgentflowError,
    ConfigError,
    ElicitationRequired,
    McpStartError,
    ToolDefinitionChanged,
    ToolNameConflictError,
)
from agentflow.mcp.connection import (
    ElicitationHandler,
    RestartFailed,
    SamplingHandler,
    ServerConnection,
    ServerGone,
    ServerUnavailable,
    SessionExpired,
    describe_exception,
)
from agentflow.mcp.convert import hints_of, result_to_return, to_agentflow_tool
from agentflow.mcp.pinning import ServerPin, check_pin
from agentflow.mcp.servers import HttpServer, McpServer, StdioServer
from agentflow.tooling import Tool, ToolReturn
from agentflow.tooling.context import current_call_id

__all__ = ["McpToolset", "connect", "merge_tools"]


class McpToolset:
    """The tools of connected MCP servers. `tools` is what a graph takes; `pins` what a run records."""

    def __init__(
        self, connections: Sequence[ServerConnection], tools: Sequence[Tool], sources: Mapping[str, str]
    ):
        self.connections = tuple(connections)
        self.tools: list[Tool] = list(tools)
        self.sources = dict(sources)  # tool name (as offered) -> server name

    def pins(self) -> dict[str, ServerPin]:
        """Each server's pin (digests of its tools as listed at start), by server name."""
        return {c.server.name: c.pin for c in self.connections if c.pin is not None}

    def raise_if_changed(self) -> None:
        """Raise `ToolDefinitionChanged` if a server changed a tool in use during the session (and the server
        was not declared with `accept_changes`). Cheap: call it between steps."""
        for connection in self.connections:
            if connection.change_error is not None:
                raise connection.change_error

    def connection(self, server: str) -> ServerConnection:
        return next(c for c in self.connections if c.server.name == server)

    def describe(self) -> list[dict[str, Any]]:
        """The servers as JSON-safe records (no env or header values)."""
        return [
            {
                **c.server.describe(),
                "tools": [t.name for t in c.tools],
                "pin": c.pin.digest if c.pin else None,
            }
            for c in self.connections
        ]


def _tool_function(connection: ServerConnection, remote: str, local: str, idempotent: bool) -> Any:
    """The function behind one MCP tool: call it on the shared connection, every failure an observation."""
    server = connection.server
    retries = server.retries if isinstance(server, HttpServer) else 0

    def retryable(exc: BaseException) -> bool:
        # an expired session means the request never ran: safe to repeat for any tool; a broken connection
        # may have lost a request that ran, so only idempotent tools go again
        return isinstance(exc, SessionExpired) or (idempotent and isinstance(exc, ServerGone | RestartFailed))

    async def call(**arguments: Any) -> ToolReturn:
        call_id = current_call_id() or f"adhoc-{id(arguments)}"
        connection.in_flight.append(call_id)
        try:
            returned = await attempt_call(arguments)
        finally:
            connection.in_flight.remove(call_id)
        asked = connection.paused.pop(call_id, None)
        if asked is not None:  # the server asked a human mid-call: stop here, the run pauses for the answer
            raise ElicitationRequired(asked.to_json())
        return returned

    async def attempt_call(arguments: dict[str, Any]) -> ToolReturn:
        if remote in connection.changed_tools:
            return ToolReturn(
                text=f"tool '{local}' was not called: MCP server '{server.name}' changed its "
                f"definition during the run",
                is_error=True,
                error_type="tool_definition_changed",
            )
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(retries + 1),
                reraise=True,
                wait=wait_exponential(multiplier=0.2, max=5),
                retry=retry_if_exception(retryable),
            ):
                with attempt:
                    result = await connection.call_tool(remote, arguments)
        except (ServerGone, RestartFailed) as exc:
            text = str(exc)
            if connection.restarts_left:
                text += (
                    "; the next call tries again"
                    if isinstance(exc, RestartFailed)
                    else "; it will be restarted for the next call"
                )
            if isinstance(exc, ServerGone) and not isinstance(exc, SessionExpired) and not idempotent:
                text += ". The tool is not idempotent: its outcome is unknown (it may or may not have taken effect)"
            text += getattr(exc, "detail", "")
            kind = (
                "server_unavailable"
                if isinstance(exc, RestartFailed)
                else "server_exited"
                if isinstance(server, StdioServer)
                else "connection_lost"
            )
            return ToolReturn(text=text, is_error=True, error_type=kind)
        except ServerUnavailable as exc:
            return ToolReturn(text=str(exc), is_error=True, error_type="server_unavailable")
        except ValidationError as exc:
            return ToolReturn(
                text=f"MCP server '{server.name}' returned a malformed result for tool '{local}': "
                f"{describe_exception(exc)[:300]}",
                is_error=True,
                error_type="bad_result",
            )
        except RuntimeError as exc:  # structured content that fails the tool's output schema, ...
            return ToolReturn(
                text=f"MCP server '{server.name}' returned an unusable result for tool '{local}': "
                f"{str(exc)[:300]}",
                is_error=True,
                error_type="bad_result",
            )
        except Exception as exc:  # an MCP error response (unknown tool, invalid params, ...)
            return ToolReturn(
                text=f"tool '{local}' failed: {describe_exception(exc)}",
                is_error=True,
                error_type="mcp_error",
            )
        return result_to_return(local, result)

    call.__name__ = local
    return call


def _build_tools(
    connections: Sequence[ServerConnection], local_tools: Iterable[Tool]
) -> tuple[list[Tool], dict[str, str]]:
    owners: dict[str, str] = {t.name: "a local tool" for t in local_tools}
    tools: list[Tool] = []
    sources: dict[str, str] = {}
    for connection in connections:
        server = connection.server
        for mcp_tool in connection.tools:
            local = server.local_name(mcp_tool.name)
            where = f"MCP server '{server.name}'"
            if local in owners:
                raise ToolNameConflictError(
                    f"tool name '{local}' is offered by {owners[local]} and by {where}; give the server a prefix "
                    f"(prefix=...) or exclude the tool (exclude=[{mcp_tool.name!r}])"
                )
            owners[local] = where
            idempotent = hints_of(mcp_tool.annotations, trusted=server.trusted)["idempotent"]
            try:
                tool = to_agentflow_tool(
                    server, mcp_tool, _tool_function(connection, mcp_tool.name, local, idempotent)
                )
            except AgentflowError as exc:
                raise type(exc)(
                    f"{where}, tool '{mcp_tool.name}': {exc}; exclude it with exclude=[{mcp_tool.name!r}]"
                ) from None
            tools.append(tool)
            sources[local] = server.name
    return tools, sources


def merge_tools(local_tools: Iterable[Tool], toolset: McpToolset) -> list[Tool]:
    """`local_tools` followed by the toolset's tools; a name offered twice is a `ToolNameConflictError`."""
    local = list(local_tools)
    seen: dict[str, str] = {}
    for tool in local:
        if tool.name in seen:
            raise ToolNameConflictError(f"two local tools are named '{tool.name}'")
        seen[tool.name] = "a local tool"
    for tool in toolset.tools:
        if tool.name in seen:
            raise ToolNameConflictError(
                f"tool name '{tool.name}' is offered by {seen[tool.name]} and by MCP server "
                f"'{toolset.sources[tool.name]}'; give the server a prefix (prefix=...) or exclude the tool"
            )
        seen[tool.name] = f"MCP server '{toolset.sources[tool.name]}'"
    return [*local, *toolset.tools]


def _raise_single(group: BaseExceptionGroup) -> None:
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    errors = [e for e in leaves if not isinstance(e, anyio.get_cancelled_exc_class())]
    if len(errors) == 1:
        raise errors[0] from errors[0].__cause__  # the group that carried it is noise in a traceback
    raise group


async def _start_all(tg: anyio.abc.TaskGroup, connections: Sequence[ServerConnection]) -> None:
    errors: list[Exception] = []

    async def start(connection: ServerConnection) -> None:
        try:
            await tg.start(connection.run)
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as starter:
        for connection in connections:
            starter.start_soon(start, connection)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        if all(isinstance(e, McpStartError) for e in errors):
            raise McpStartError("\n".join(str(e) for e in errors))
        raise next(e for e in errors if not isinstance(e, McpStartError))


@asynccontextmanager
async def connect(
    servers: Iterable[McpServer],
    *,
    local_tools: Iterable[Tool] = (),
    pins: Mapping[str, ServerPin | Mapping[str, Any]] | None = None,
    elicitation: ElicitationHandler | None = None,
    sampling: SamplingHandler | None = None,
    on_tools_changed: Callable[[ToolDefinitionChanged], None] | None = None,
    logger: Any = None,
) -> AsyncIterator[McpToolset]:
    """Connect to `servers` for the duration of the `async with` block and yield their tools.

    - `local_tools`: the other tools of the graph, checked for name collisions with the servers' tools;
    - `pins`: pins recorded earlier (by server name, `ServerPin` or its JSON); a tool whose definition no
      longer matches raises `ToolDefinitionChanged` here, unless its server has `accept_changes`;
    - `elicitation`: called when a server asks the user for input (default: decline, logged);
    - `sampling`: answers a server's `sampling/createMessage` (default: refused);
    - `on_tools_changed`: called when a server changes a tool in use during the session (the toolset's
      `raise_if_changed()` raises the same error).

    Raises `McpStartError` (a server did not start; all are closed again), `ToolNameConflictError`,
    `ConfigError` (duplicate server names, an `include` naming unknown tools).
    """
    servers = list(servers)
    local_tools = list(local_tools)
    for server in servers:
        if not isinstance(server, StdioServer | HttpServer):
            raise ConfigError(f"not an MCP server declaration: {server!r} (use agentflow.mcp.stdio / http)")
    names = [s.name for s in servers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"two MCP servers are named {', '.join(map(repr, duplicates))}; give each a name=")
    log = logger or structlog.get_logger("agentflow.mcp")
    connections = [
        ServerConnection(
            s, elicitation=elicitation, sampling=sampling, logger=log, on_change=on_tools_changed
        )
        for s in servers
    ]
    try:
        async with anyio.create_task_group() as tg:
            try:
                await _start_all(tg, connections)
                for connection in connections:
                    recorded = (pins or {}).get(connection.server.name)
                    if recorded is not None and connection.pin is not None:
                        pin = recorded if isinstance(recorded, ServerPin) else ServerPin.from_json(recorded)
                        check_pin(
                            pin,
                            connection.pin,
                            in_use=pin.tools,
                            accept_changes=connection.server.accept_changes,
                        )
                tools, sources = _build_tools(connections, local_tools)
                yield McpToolset(connections, tools, sources)
            finally:
                for connection in connections:
                    connection.close()
    except BaseExceptionGroup as group:
        _raise_single(group)
