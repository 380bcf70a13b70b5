"""An MCP server (stdio) with tools that misbehave on purpose: die mid-call, hang, flood, error, elicit.

Run as `python faulty.py`. Each tool exists to drive one fault path of agentflow's MCP client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import (
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    SamplingMessage,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)
from pydantic import BaseModel

server = MCPServer("faulty")
calls = {"echo": 0}
cancelled = anyio.Event()
SAFE = ToolAnnotations(read_only_hint=True, idempotent_hint=True, destructive_hint=False)


@server.tool(annotations=SAFE)
def echo(text: str) -> str:
    """Return the text."""
    calls["echo"] += 1
    return text


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def echo_count() -> int:
    """How many echo calls this process has served."""
    return calls["echo"]


@server.tool()
def die(code: int = 7) -> str:
    """Exit the process in the middle of the call, after a line on stderr."""
    print(f"faulty: dying with code {code} as asked", file=sys.stderr, flush=True)
    os._exit(code)


@server.tool(annotations=SAFE)
def die_idempotent() -> str:
    """Exit mid-call (a read-only, idempotent tool)."""
    print("faulty: dying (idempotent tool)", file=sys.stderr, flush=True)
    os._exit(9)


@server.tool()
async def hang() -> str:
    """Never return (until cancelled)."""
    print("faulty: hanging", file=sys.stderr, flush=True)
    try:
        await anyio.sleep_forever()
    finally:
        cancelled.set()
    return "unreachable"


@server.tool()
async def was_cancelled() -> bool:
    """Wait (at most 10 s) until a `hang` call was cancelled by the client."""
    with anyio.move_on_after(10):
        await cancelled.wait()
    return cancelled.is_set()


@server.tool()
def big(n: int = 100_000) -> str:
    """A result of n characters."""
    return "x" * n


@server.tool()
def image() -> CallToolResult:
    """An image, a text resource and a line of text."""
    return CallToolResult(
        content=[
            TextContent(text="here is the chart"),
            ImageContent(data="iVBORw0KGgo" * 1000, mime_type="image/png"),
            EmbeddedResource(resource=TextResourceContents(uri="file:///tmp/notes.txt", text="a note")),
        ]
    )


@server.tool()
def failing() -> CallToolResult:
    """An error result that carries structured content."""
    return CallToolResult(
        content=[TextContent(text="quota exceeded")], structured_content={"retry_after_s": 30}, is_error=True
    )


@server.tool()
def spawn_grandchild() -> int:
    """Start a long-lived grandchild in this server's process group; return its pid."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return child.pid


class Confirm(BaseModel):
    ok: bool


@server.tool()
async def confirm(ctx: Context) -> str:
    """Ask the user to confirm (elicitation); return what they did."""
    result = await ctx.elicit("Delete everything?", Confirm)
    data = getattr(result, "data", None)
    return f"{result.action}:{data.ok if data is not None else '-'}"


@server.tool()
async def ask_model(question: str, ctx: Context) -> str:
    """Ask the client's model (sampling); say what happened."""
    try:
        result = await ctx.session.create_message(
            [SamplingMessage(role="user", content=TextContent(text=question))], max_tokens=20
        )
    except Exception as exc:
        return f"refused: {exc}"
    return f"model said: {result.content.text}"


@server.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer (blocking, like a badly written tool)."""
    time.sleep(seconds)
    return "done"


if __name__ == "__main__":
    print(
        f"faulty: starting, HOME={os.environ.get('HOME')} SECRET={os.environ.get('SECRET')}",
        file=sys.stderr,
        flush=True,
    )
    server.run()
