"""A server that lists its 7 tools three per page (the client must follow `nextCursor`)."""

from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server

NAMES = [f"tool_{i}" for i in range(7)]
PAGE = 3


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    start = int(params.cursor) if params is not None and params.cursor else 0
    page = NAMES[start : start + PAGE]
    more = start + PAGE < len(NAMES)
    return types.ListToolsResult(
        tools=[
            types.Tool(
                name=n, description=f"Tool number {n[-1]}.", input_schema={"type": "object", "properties": {}}
            )
            for n in page
        ],
        next_cursor=str(start + PAGE) if more else None,
    )


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=params.name)])


server = Server("paged", on_list_tools=list_tools, on_call_tool=call_tool)

if __name__ == "__main__":
    import anyio
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
