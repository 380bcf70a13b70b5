"""Handoffs between agents, no supervisor: a front desk hands arithmetic to a mathematician and notes to an
archivist, each transfer carrying a typed payload; whoever can answer, answers.

    agentflow run handoff --input "Please note that the boiler was serviced today" \\
        --model scripted:examples/scripted/handoff.json

Roles: front_desk, mathematician, archivist.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph
from pydantic import BaseModel, Field

import agentflow
from agentflow.toolkit import calculator, convert_units, search_notes, write_note


class Calculation(BaseModel):
    """What the mathematician should work out."""

    question: str = Field(max_length=200)


class NoteRequest(BaseModel):
    """What the archivist should store or look up."""

    action: str = Field(pattern="^(store|find)$")
    text: str = Field(max_length=200)


#: The model roles of this graph (`--model ROLE=SPEC`); `agentflow graphs` lists them without importing it.
ROLES = ("front_desk", "mathematician", "archivist")

AGENTS = [
    agentflow.Agent(
        name="front_desk",
        description="talks to the user and hands work on",
        handoffs={"mathematician": Calculation, "archivist": NoteRequest},
        system_prompt="You are the front desk. Hand arithmetic to the mathematician and notes to "
        "the archivist; answer anything else yourself.",
    ),
    agentflow.Agent(
        name="mathematician",
        description="arithmetic and unit conversions",
        tools=[calculator, convert_units],
        handoffs=["front_desk"],
    ),
    agentflow.Agent(
        name="archivist",
        description="stores and finds notes",
        tools=[write_note, search_notes],
        handoffs=["front_desk"],
    ),
]


def make_graph(tools: Sequence[Any] = ()) -> StateGraph:
    """`tools` (tools or MCP servers, e.g. from `--mcp-stdio`) are given to every agent that has tools."""
    agents = [dataclasses.replace(a, tools=[*a.tools, *tools]) if a.tools else a for a in AGENTS]
    return agentflow.handoff_graph(agents)
