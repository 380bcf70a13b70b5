"""Plan-and-execute over the bundled tools: a planner splits the task into steps, ReAct executors run them
(independent steps in parallel), a re-planner revises what is left, a writer answers.

    agentflow run plan_execute --input "Convert 5 km to miles and add 17 * 23" \\
        --model scripted:examples/scripted/plan_execute.json
    agentflow run plan_execute -i "..." --model planner=vllm-server:http://127.0.0.1:8000 --model executor=demo

Roles: planner, executor, writer.
"""

from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph

import agentflow
from agentflow.toolkit import DEFAULT_TOOLS

#: The model roles of this graph (`--model ROLE=SPEC`); `agentflow graphs` lists them without importing it.
ROLES = ("planner", "executor", "writer")


def make_graph(tools: Sequence[Any] = ()) -> StateGraph:
    """Plan and execute; `tools` (tools or MCP servers, e.g. from `--mcp-stdio`) join the executors' tools."""
    return agentflow.plan_execute_graph([*DEFAULT_TOOLS, *tools])
