"""MCP: servers as tool sources, and agentflow tools served over MCP.

    import agentflow

    time = agentflow.mcp.stdio("uvx", ["mcp-server-time"], trusted=True)
    async with agentflow.mcp.connect([time]) as toolset:
        result = await runner.run(agentflow.react_graph(toolset.tools), "What time is it in Tokyo?")

Declarations (`stdio`, `http`) are frozen and hashable; `connect` opens them for a scope; `pin_tools` /
`check_pin` guard against tool definitions that change under a run; `serve_stdio` / `serve_http` (and
`agentflow mcp serve`) expose agentflow tools to other MCP clients.
"""

from agentflow.mcp.connection import (
    ElicitationAnswer,
    ElicitationHandler,
    ElicitationRequest,
    SamplingHandler,
    ServerConnection,
)
from agentflow.mcp.convert import hints_of
from agentflow.mcp.pinning import ServerPin, ToolChange, check_pin, compare_pins, pin_tools
from agentflow.mcp.serve import build_server, load_tools, serve_http, serve_stdio
from agentflow.mcp.servers import HttpServer, McpServer, StdioServer, http, stdio
from agentflow.mcp.toolset import McpToolset, connect, merge_tools

__all__ = [
    "ElicitationAnswer",
    "ElicitationHandler",
    "ElicitationRequest",
    "HttpServer",
    "McpServer",
    "McpToolset",
    "SamplingHandler",
    "ServerConnection",
    "ServerPin",
    "StdioServer",
    "ToolChange",
    "build_server",
    "check_pin",
    "compare_pins",
    "connect",
    "hints_of",
    "http",
    "load_tools",
    "merge_tools",
    "pin_tools",
    "serve_http",
    "serve_stdio",
    "stdio",
]
