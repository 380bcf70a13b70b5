"""Serving agentflow tools over MCP (stdio or streamable HTTP): `agentflow mcp serve` and its Python API.

Each tool is offered with its JSON schema as `inputSchema`, its output schema (wrapped as `{"result": ...}`
when it is not an object, as MCP requires) and its hints as annotations. A call runs through agentflow's own
`execute_call`: the same validation, timeout, retries and observation text as inside a run; errors come
back as `isError` results. Tools that take a `RunContext` get one with `run_id` "mcp-serve" and the
document store of the database given to the server (`--db`).
"""

from __future__ import annotations

import importlib
import importlib.util
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import mcp_types
from mcp import MCPError

from agentflow.exceptions import ConfigError, ToolNameConflictError
from agentflow.mcp.servers import is_loopback_host
from agentflow.messages import ToolCall
from agentflow.tooling import RunContext, Tool
from agentflow.tooling.execute import execute_call

__all__ = [
    "SERVE_RUN_ID",
    "build_server",
    "find_tools",
    "load_tools",
    "run_server",
    "serve_http",
    "serve_stdio",
]

SERVE_RUN_ID = "mcp-serve"


def _output_schema(tool: Tool) -> tuple[dict[str, Any] | None, bool]:
    """(the MCP output schema, whether results are wrapped as {"result": ...})."""
    schema = tool.output_schema
    if schema is None:
        return None, False
    if schema.get("type") == "object":
        return dict(schema), False
    return {"type": "object", "properties": {"result": dict(schema)}, "required": ["result"]}, True


def _mcp_tool(tool: Tool) -> mcp_types.Tool:
    output_schema, _ = _output_schema(tool)
    return mcp_types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=dict(tool.parameters),
        output_schema=output_schema,
        annotations=mcp_types.ToolAnnotations(
            read_only_hint=tool.read_only, destructive_hint=tool.destructive, idempotent_hint=tool.idempotent
        ),
    )


def build_server(
    tools: Sequence[Tool],
    *,
    name: str = "agentflow",
    store: Any = None,
    run_id: str = SERVE_RUN_ID,
    allow_approval_tools: bool = False,
) -> Any:
    """An MCP server (`mcp.server.lowlevel.Server`) offering `tools`.

    A tool that needs a human's approval (`approval` other than "never") is refused unless
    `allow_approval_tools`: this server cannot ask anyone, so approving becomes the MCP client's job.
    """
    from mcp.server.lowlevel import Server

    by_name: dict[str, Tool] = {}
    for tool in tools:
        if tool.name in by_name:
            raise ToolNameConflictError(f"two tools to serve are named '{tool.name}'")
        if tool.approval not in (None, "never") and not allow_approval_tools:
            raise ConfigError(
                f"tool '{tool.name}' needs human approval (approval={tool.approval!r}), which an MCP "
                "server cannot ask for; pass --allow-approval-tools if the MCP client asks its user"
            )
        by_name[tool.name] = tool
    listing = [_mcp_tool(t) for t in by_name.values()]
    wrapped = {t.name for t in by_name.values() if _output_schema(t)[1]}
    has_output = {t.name for t in by_name.values() if t.output_schema is not None}

    async def list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=listing)

    async def call_tool(ctx: Any, params: mcp_types.CallToolRequestParams) -> mcp_types.CallToolResult:
        if params.name not in by_name:
            raise MCPError(code=mcp_types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        call_id = f"mcp_{ctx.request_id}"
        call = ToolCall(id=call_id, name=params.name, arguments=params.arguments or {})
        outcome = await execute_call(call, by_name, RunContext(run_id=run_id, call_id=call_id, store=store))
        content: list[Any] = [mcp_types.TextContent(text=outcome.content)]
        if outcome.is_error:
            return mcp_types.CallToolResult(content=content, is_error=True)
        structured = None
        if params.name in has_output:
            structured = {"result": outcome.result} if params.name in wrapped else outcome.result
        return mcp_types.CallToolResult(content=content, structured_content=structured)

    return Server(name, version=_version(), on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(
    tools: Sequence[Tool],
    *,
    store: Any = None,
    name: str = "agentflow",
    allow_approval_tools: bool = False,
) -> None:
    """Serve `tools` on stdin / stdout until stdin closes."""
    from mcp.server.stdio import stdio_server

    server = build_server(tools, store=store, name=name, allow_approval_tools=allow_approval_tools)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(
    tools: Sequence[Tool],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    store: Any = None,
    name: str = "agentflow",
    allow_remote: bool = False,
    allow_approval_tools: bool = False,
    on_ready: Any = None,
) -> None:
    """Serve `tools` over streamable HTTP at `http://HOST:PORT/mcp` until cancelled.

    A host that is not loopback is refused unless `allow_remote` (the tools run with this process's rights).
    Port 0 picks a free port; `on_ready(url)` is called once the socket listens.
    """
    import uvicorn

    if not is_loopback_host(host) and not allow_remote:
        raise ConfigError(
            f"refusing to serve on {host!r}: not a loopback address; pass --allow-remote if every "
            "client that can reach it may run these tools"
        )
    server = build_server(tools, store=store, name=name, allow_approval_tools=allow_approval_tools)
    app = server.streamable_http_app(host=host)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sock.listen(128)
        bound = sock.getsockname()[1]
        shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        uv = uvicorn.Server(config)
        if on_ready is not None:
            on_ready(f"http://{shown}:{bound}/mcp")
        await uv.serve(sockets=[sock])
    finally:
        sock.close()


def find_tools(value: Any, where: str) -> list[Tool]:
    """The tools in `value`: a Tool, a list of Tools, a factory returning either, or a module (its
    `DEFAULT_TOOLS` list when it has one, as `agentflow.toolkit` does; else every `Tool` among its attributes,
    in definition order)."""
    import types

    if isinstance(value, types.ModuleType):
        defaults = getattr(value, "DEFAULT_TOOLS", None)
        if isinstance(defaults, list | tuple) and defaults and all(isinstance(t, Tool) for t in defaults):
            return list(defaults)
        found: dict[int, Tool] = {}
        attrs = list(vars(value).values())
        lists = [
            a for a in attrs if isinstance(a, list | tuple)
        ]  # a module's own list (DEFAULT_TOOLS) sets the order
        for item in [*(i for a in lists for i in a), *attrs]:
            if isinstance(item, Tool):
                found.setdefault(id(item), item)
        if not found:
            raise ConfigError(f"{where} defines no agentflow tools")
        return list(found.values())
    if isinstance(value, Tool):
        return [value]
    if isinstance(value, list | tuple) and value and all(isinstance(v, Tool) for v in value):
        return list(value)
    if callable(value):
        try:
            built = value()
        except Exception as exc:
            raise ConfigError(f"{where}() failed: {type(exc).__name__}: {exc}") from exc
        if callable(built):
            raise ConfigError(f"{where}() returned a {type(built).__name__}, not tools")
        return find_tools(built, f"{where}()")
    raise ConfigError(
        f"{where} is a {type(value).__name__}, not a tool, a list of tools or a module of tools"
    )


def _import(target: str) -> Any:
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"{target}: no such file")
        name = "agentflow_served_" + path.stem
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load {target} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ConfigError(f"{target}: importing it failed: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"no module named {target!r} ({exc})") from None
    except Exception as exc:
        raise ConfigError(f"{target}: importing it failed: {type(exc).__name__}: {exc}") from exc


def load_tools(spec: str) -> list[Tool]:
    """Tools from `MODULE_OR_FILE[:ATTR]`, e.g. `agentflow.toolkit`, `my_tools.py:TOOLS`, `pkg.mod:make_tools`."""
    target, _, attr = spec.partition(":")
    module = _import(target)
    if not attr:
        return find_tools(module, target)
    if not hasattr(module, attr):
        raise ConfigError(f"{target} has no attribute {attr!r}")
    return find_tools(getattr(module, attr), f"{target}:{attr}")


def _version() -> str:
    from agentflow import __version__

    return __version__


def run_server(
    tools: Sequence[Tool],
    *,
    http: tuple[str, int] | None,
    db: str | None = None,
    allow_remote: bool = False,
    allow_approval_tools: bool = False,
    on_ready: Any = None,
) -> None:
    """The blocking entry point of `agentflow mcp serve`: the database `db` is opened (a foreign or corrupt
    file is refused before serving) when a tool takes a `RunContext`."""
    from contextlib import AsyncExitStack

    from agentflow.store import open_storage

    async def main() -> None:
        async with AsyncExitStack() as stack:
            store = None
            if any(t.context_param for t in tools):
                store = (await stack.enter_async_context(open_storage(db))).store
            if http is None:
                await serve_stdio(tools, store=store, allow_approval_tools=allow_approval_tools)
            else:
                host, port = http
                await serve_http(
                    tools,
                    host=host,
                    port=port,
                    store=store,
                    allow_remote=allow_remote,
                    allow_approval_tools=allow_approval_tools,
                    on_ready=on_ready,
                )

    anyio.run(main)
