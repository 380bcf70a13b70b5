"""MCP tools as agentflow `Tool`s, and MCP results as observations.

- The input schema is kept as-is (validated by a JSON Schema validator, offered to the decision schema
  unchanged); `outputSchema` stays on the tool, `structuredContent` in the outcome's result (also on errors).
- Annotations become hints. Missing hints take MCP's defaults (destructive, not idempotent, not read-only),
  and hints that *relax* safety — read-only, idempotent, not destructive — count only from trusted servers.
- Content becomes text: text as is, images / audio / blobs described by type and size (never base64 in a
  prompt), resources by URI. `isError` results are error observations.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types

from agentflow.mcp.servers import McpServer
from agentflow.tooling import Tool, ToolReturn

__all__ = ["hints_of", "result_to_return", "to_agentflow_tool"]


def hints_of(annotations: mcp_types.ToolAnnotations | None, *, trusted: bool) -> dict[str, bool]:
    """`read_only`, `destructive`, `idempotent` for a tool with these MCP annotations."""
    if not trusted or annotations is None:
        return {"read_only": False, "destructive": True, "idempotent": False}
    read_only = annotations.read_only_hint is True
    destructive = False if read_only else annotations.destructive_hint is not False
    idempotent = read_only or annotations.idempotent_hint is True
    return {"read_only": read_only, "destructive": destructive, "idempotent": idempotent}


def to_agentflow_tool(
    server: McpServer, tool: mcp_types.Tool, call: Callable[..., Awaitable[ToolReturn]]
) -> Tool:
    """An agentflow `Tool` for `server`'s MCP tool `tool`; `call(**arguments)` performs the MCP call."""
    description = (
        tool.description
        or (tool.annotations.title if tool.annotations and tool.annotations.title else None)
        or tool.title
        or tool.name
    )
    options: dict[str, Any] = {"timeout_s": server.timeout_s}
    if server.max_observation_chars:
        options["max_observation_chars"] = server.max_observation_chars
    return Tool.from_schema(
        name=server.local_name(tool.name),
        description=description,
        input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        function=call,
        **hints_of(tool.annotations, trusted=server.trusted),
        **options,
    )


def _size(data: str) -> int:
    """Decoded size of base64 `data` without decoding it all."""
    stripped = data.rstrip("=")
    return len(stripped) * 3 // 4


def _kb(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1024:.1f} KiB"


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return block.text
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_kb(_size(block.data))}]"
    if kind == "resource_link":
        extra = ", ".join(x for x in (block.name, block.mime_type) if x)
        return f"[resource link: {block.uri}" + (f" ({extra})" if extra else "") + "]"
    if kind == "resource":
        res = block.resource
        if isinstance(res, mcp_types.TextResourceContents):
            return f"[resource {res.uri}]\n{res.text}"
        return f"[resource: {res.uri}, {res.mime_type or 'binary'}, {_kb(_size(res.blob))}]"
    return f"[{kind or type(block).__name__} content]"


def result_to_return(tool_name: str, result: mcp_types.CallToolResult) -> ToolReturn:
    """The observation for an MCP result: the content as text (structured content as JSON when there is no
    content), `structuredContent` as the recorded result; `isError` -> an error observation."""
    parts = [_block_text(block) for block in result.content]
    structured = result.structured_content
    if not parts and structured is not None:
        parts = [json.dumps(structured, ensure_ascii=False, separators=(", ", ": "), default=str)]
    text = "\n".join(parts) if parts else "(no content)"
    data: Any = structured if structured is not None else text
    if result.is_error:
        return ToolReturn(
            text=f"tool '{tool_name}' failed: {text}", data=data, is_error=True, error_type="mcp_tool_error"
        )
    return ToolReturn(text=text, data=data)
