"""A supervisor routing work to three specialists over the bundled tools: a mathematician (calculator, unit
conversion), a timekeeper (the clock) and an archivist (notes).

    agentflow run supervisor --input "What time is it in Tokyo, and what is 2**10?" \\
        --model scripted:examples/scripted/supervisor.json

Roles: supervisor, mathematician, timekeeper, archivist.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph

import agentflow
from agentflow.toolkit import calculator, convert_units, current_time, search_notes, write_note

#: The model roles of this graph (`--model ROLE=SPEC`); `agentflow graphs` lists them without importing it.
ROLES = ("supervisor", "mathematician", "timekeeper", "archivist")

AGENTS = [
    agentflow.Agent(
        name="mathematician", description="arithmetic and unit conversions", tools=[calculator, convert_units]
    ),
    agentflow.Agent(
        name="timekeeper", description="the current date and time in any time zone", tools=[current_time]
    ),
    agentflow.Agent(name="archivist", description="writes and finds notes", tools=[write_note, search_notes]),
]


def make_graph(tools: Sequence[Any] = ()) -> StateGraph:
    """`tools` (tools or MCP servers, e.g. from `--mcp-stdio`) are given to every agent that has tools."""
    agents = [dataclasses.replace(a, tools=[*a.tools, *tools]) if a.tools else a for a in AGENTS]
    return agentflow.supervisor_graph(agents)
