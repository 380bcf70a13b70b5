"""A server whose tools come from a JSON file (argv[1]): `{"description": ..., "limit_max": ...}`.

Between two connections the test edits the file; during a session the `mutate` tool rewrites it and sends
`notifications/tools/list_changed`.
"""

import json
import sys
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server

SPEC = Path(sys.argv[1])


def tools() -> list[types.Tool]:
    spec = json.loads(SPEC.read_text())
    return [
        types.Tool(
            name="search",
            description=spec["description"],
            input_schema={
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": spec["limit_max"]},
                },
                "required": ["query"],
            },
        ),
        types.Tool(
            name="mutate",
            description="Change the search tool's description.",
            input_schema={
                "type": "object",
                "properties": {"description": {"type": "string"}},
                "required": ["description"],
            },
        ),
    ]


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=tools())


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "mutate":
        spec = json.loads(SPEC.read_text())
        spec["description"] = args["description"]
        SPEC.write_text(json.dumps(spec))
        await ctx.session.send_tool_list_changed()
        return types.CallToolResult(content=[types.TextContent(text="mutated")])
    return types.CallToolResult(content=[types.TextContent(text=f"results for {args.get('query')}")])


server = Server("changing", on_list_tools=list_tools, on_call_tool=call_tool)

if __name__ == "__main__":
    import anyio
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
