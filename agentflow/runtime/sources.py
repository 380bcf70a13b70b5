"""A run's tool sources, connected for the run's duration: which servers, which tools each offers, and the
pins (digests of their tool definitions) recorded with the run.

`connect_sources` opens every source a graph uses (`agentflow.tooling.source.graph_sources`) in the task that
executes the run (a connection is owned by one task), checks their tools' names against the graph's own tools
(a name offered twice refuses the run, naming both sources) and, on resume, against the pins recorded when the
run started (`ToolDefinitionChanged` naming the tool and what changed, unless changes are accepted: then the
new definitions are pinned from there on).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from agentflow.events import ToolSourcesConnected, TraceEventLike
from agentflow.tooling.source import ToolSource
from agentflow.tooling.tool import Tool

__all__ = ["RunToolset", "connect_sources", "recorded_pins"]


class RunToolset:
    """The connected sources of one run: each source's tools, its pin, and mid-run definition changes."""

    def __init__(self, toolset: Any) -> None:
        self._toolset = toolset
        self._by_source: dict[str, list[Tool]] = {}
        for tool in toolset.tools:
            self._by_source.setdefault(toolset.sources[tool.name], []).append(tool)

    def tools_of(self, sources: Sequence[ToolSource]) -> list[Tool]:
        return [tool for source in sources for tool in self._by_source.get(source.name, [])]

    def raise_if_changed(self) -> None:
        """Raise `ToolDefinitionChanged` if a source changed a tool in use since the run connected."""
        self._toolset.raise_if_changed()

    def pins(self) -> dict[str, Any]:
        return {name: pin.to_json() for name, pin in self._toolset.pins().items()}

    def describe(self) -> list[dict[str, Any]]:
        return list(self._toolset.describe())


@asynccontextmanager
async def connect_sources(
    sources: Sequence[ToolSource],
    *,
    local_tools: Sequence[Tool] = (),
    pins: Mapping[str, Any] | None = None,
    logger: Any = None,
) -> AsyncIterator[RunToolset | None]:
    """Connect `sources` for the block (nothing to do without any: yields None)."""
    if not sources:
        yield None
        return
    from agentflow import mcp

    async with mcp.connect(sources, local_tools=local_tools, pins=pins, logger=logger) as toolset:  # type: ignore[arg-type]
        yield RunToolset(toolset)


def recorded_pins(events: Sequence[TraceEventLike]) -> dict[str, Any] | None:
    """The pins the run holds its sources to: those recorded when it last connected them (as first connected,
    or as accepted since); None if it never connected any."""
    for event in reversed(events):
        if event.kind == ToolSourcesConnected.kind:
            return dict(event.data.get("pins") or {})
    return None
