"""A run's tool sources, connected for the run's duration: which servers, which tools each offers, and the
pins (digests of their tool definitions) recorded with the run.

`connect_sources` opens every source a graph uses (`agentflow.tooling.source.graph_sources`) in the task that
executes the run (a connection is owned by one task), checks their tools' names against the graph's own tools
(a name offered twice refuses the run, naming both sources) and, on resume, against the pins recorded when the
run started (`ToolDefinitionChanged` naming the tool and what changed, unless changes are accepted: then the
new definitions are pinned from there on).

A server that asks the user for input during a call (MCP elicitation) pauses the run: the call stops (the
server is told "cancel"), the tool node asks a human like an approval, and the call runs again with the
human's answer given to the server when it asks again (`Elicitations`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from agentflow.events import ToolSourcesConnected, TraceEventLike
from agentflow.tooling.source import ToolSource
from agentflow.tooling.tool import Tool

__all__ = ["Elicitations", "RunToolset", "connect_sources", "recorded_pins"]


class Elicitations:
    """A run's answers to servers' requests for user input. A call runs again from the start after each
    answer, so it is given every answer a human gave it so far, one per request, in order; a request with no
    answer left stops the call and the run pauses for a human."""

    def __init__(self) -> None:
        self._given: dict[str, list[Any]] = {}  # call id -> the human's answers (form contents), in order
        self._left: dict[str, list[Any]] = {}  # call id -> answers not yet used by the current attempt

    def answer(self, call_id: str, content: dict[str, Any] | None) -> None:
        """Add a human's answer (accepted, with `content`) for call `call_id`; its next attempt replays all."""
        self._given.setdefault(call_id, []).append(content)
        self._left[call_id] = list(self._given[call_id])

    async def __call__(self, request: Any) -> Any:
        from agentflow.mcp import ElicitationAnswer

        left = self._left.get(request.call_id or "")
        if left:
            return ElicitationAnswer(action="accept", content=left.pop(0))
        return ElicitationAnswer(action="cancel", pause=True)


class RunToolset:
    """The connected sources of one run: each source's tools, its pin, mid-run definition changes, and the
    answers to their requests for user input (`elicitations`)."""

    def __init__(self, toolset: Any, elicitations: Elicitations | None = None) -> None:
        self._toolset = toolset
        self.elicitations = elicitations or Elicitations()
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

    elicitations = Elicitations()
    async with mcp.connect(
        sources,  # type: ignore[arg-type]
        local_tools=local_tools,
        pins=pins,
        logger=logger,
        elicitation=elicitations,
    ) as toolset:
        yield RunToolset(toolset, elicitations)


def recorded_pins(events: Sequence[TraceEventLike]) -> dict[str, Any] | None:
    """The pins the run holds its sources to: those recorded when it last connected them (as first connected,
    or as accepted since); None if it never connected any."""
    for event in reversed(events):
        if event.kind == ToolSourcesConnected.kind:
            return dict(event.data.get("pins") or {})
    return None
