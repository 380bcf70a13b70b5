"""`ToolSource`: tools that come from elsewhere and exist only while a run is connected to their source — an
MCP server (`agentflow.mcp.stdio`, `agentflow.mcp.http`).

A source goes wherever a list of tools goes (`react_graph([*local, server])`, `Agent(tools=[...])`); building
a graph connects nothing. When a run starts, the runner finds every source of the graph (`graph_sources`),
connects them for the run's duration, and each node sees the source's tools next to its local ones.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

from agentflow.exceptions import ToolDefinitionError
from agentflow.graph_walk import listed, node_targets, with_subgraphs
from agentflow.tooling.tool import Tool

__all__ = ["ToolSource", "graph_sources", "split_tools", "with_subgraphs"]


class ToolSource(abc.ABC):
    """Base class of tool sources; each has a `name` unique among a run's sources."""

    __slots__ = ()
    name: str

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """A JSON-safe description for records (never secrets)."""


def split_tools(items: Iterable[Tool | ToolSource]) -> tuple[list[Tool], list[ToolSource]]:
    """The local tools and the sources of a tool list; anything else is a `ToolDefinitionError`."""
    tools: list[Tool] = []
    sources: list[ToolSource] = []
    for item in items:
        if isinstance(item, Tool):
            tools.append(item)
        elif isinstance(item, ToolSource):
            sources.append(item)
        else:
            raise ToolDefinitionError(
                f"{item!r} is neither a tool (@agentflow.tool) nor a tool source (agentflow.mcp.stdio / http)"
            )
    return tools, sources


def graph_sources(graph: Any) -> tuple[list[ToolSource], list[Tool]]:
    """Every tool source a compiled graph's nodes use, and every local tool beside them (for name checks):
    from nodes that say so with a `tool_sources` / `local_tools` attribute (agentflow's nodes and patterns do),
    and from subgraphs added as nodes (`agentflow.graph_walk`)."""
    sources: dict[int, ToolSource] = {}
    tools: dict[int, Tool] = {}
    for target in node_targets(graph):
        for source in listed(target, "tool_sources"):
            sources.setdefault(id(source), source)
        for tool in listed(target, "local_tools"):
            tools.setdefault(id(tool), tool)
    return list(sources.values()), list(tools.values())
