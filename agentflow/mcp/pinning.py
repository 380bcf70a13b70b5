"""Tool-definition pinning: stable digests of a server's tools, and comparing a recorded pin with a new one.

A run records each server's `ServerPin` when it starts. On resume, or when a server announces that its tool
list changed, the current definitions are pinned again and compared: a tool in use whose name, description,
schemas or annotations differ stops the run with `ToolDefinitionChanged` naming the tool and what changed
(the "rug pull" defence), unless the user accepted changes. Digests are SHA-256 over canonical JSON
(sorted keys, no whitespace), so they do not depend on key order or on the client library's version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentflow.exceptions import ToolDefinitionChanged

__all__ = ["PINNED_PARTS", "ServerPin", "ToolChange", "check_pin", "compare_pins", "pin_tools"]

PINNED_PARTS = ("description", "input_schema", "output_schema", "annotations")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _definition(tool: Any) -> dict[str, Any]:
    """The pinned parts of an MCP tool (an `mcp.types.Tool` or its JSON dict)."""
    if hasattr(tool, "model_dump"):
        tool = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    annotations = tool.get("annotations") or None
    return {
        "description": tool.get("description"),
        "input_schema": tool.get("inputSchema", tool.get("input_schema")),
        "output_schema": tool.get("outputSchema", tool.get("output_schema")),
        "annotations": annotations,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolChange:
    """One difference between a pin and the current list: `what` is "removed", "added" or the changed parts."""

    server: str
    tool: str
    what: tuple[str, ...]

    def __str__(self) -> str:
        if self.what in (("removed",), ("added",)):
            return f"tool '{self.tool}' of MCP server '{self.server}' was {self.what[0]}"
        return f"tool '{self.tool}' of MCP server '{self.server}' changed its {', '.join(self.what)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPin:
    """The digests of one server's tools: per tool, one digest per pinned part; `digest` covers them all."""

    server: str
    tools: Mapping[str, Mapping[str, str]]

    @property
    def digest(self) -> str:
        return _digest({name: dict(parts) for name, parts in self.tools.items()})

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form to record with a run (digests only: no schema text, no secrets)."""
        return {
            "server": self.server,
            "digest": self.digest,
            "tools": {name: dict(parts) for name, parts in sorted(self.tools.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServerPin:
        return cls(
            server=str(data["server"]), tools={str(k): dict(v) for k, v in dict(data["tools"]).items()}
        )


def pin_tools(server: str, tools: Iterable[Any]) -> ServerPin:
    """Pin `tools` (MCP tool definitions) of `server`, keyed by the server's own tool names."""
    pinned: dict[str, dict[str, str]] = {}
    for tool in tools:
        name = tool.name if hasattr(tool, "name") else tool["name"]
        definition = _definition(tool)
        pinned[name] = {part: _digest(definition[part]) for part in PINNED_PARTS}
    return ServerPin(server=server, tools=pinned)


def compare_pins(
    recorded: ServerPin, current: ServerPin, *, in_use: Iterable[str] | None = None
) -> list[ToolChange]:
    """Differences of `current` from `recorded`, for the tools in `in_use` (server names; default: every tool
    the recorded pin has). Tools the server added are reported only when named in `in_use`."""
    names = sorted(set(in_use) if in_use is not None else set(recorded.tools))
    changes = []
    for name in names:
        before, after = recorded.tools.get(name), current.tools.get(name)
        if before is None and after is None:
            continue
        if after is None:
            changes.append(ToolChange(server=recorded.server, tool=name, what=("removed",)))
        elif before is None:
            changes.append(ToolChange(server=recorded.server, tool=name, what=("added",)))
        else:
            what = tuple(part for part in PINNED_PARTS if before.get(part) != after.get(part))
            if what:
                changes.append(ToolChange(server=recorded.server, tool=name, what=what))
    return changes


def check_pin(
    recorded: ServerPin,
    current: ServerPin,
    *,
    in_use: Iterable[str] | None = None,
    accept_changes: bool = False,
) -> list[ToolChange]:
    """Raise `ToolDefinitionChanged` if a tool in use changed, unless `accept_changes`; return the changes."""
    changes = compare_pins(recorded, current, in_use=in_use)
    if changes and not accept_changes:
        raise ToolDefinitionChanged(
            "; ".join(str(c) for c in changes) + " since it was pinned; if the change is expected, accept it "
            "(accept_changes=True on the server) or start a new run",
            changes=tuple((c.server, c.tool, ",".join(c.what)) for c in changes),
        )
    return changes
