"""A ReAct agent over the bundled tools: calculator, unit conversion, current time, notes.

agentflow run react --input "What is 17 * 23 + 4?"
agentflow run graphs/react.py --input "Convert 5 km to miles" --model transformers:./my-model
"""

from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph

import agentflow
from agentflow.toolkit import DEFAULT_TOOLS

#: The model roles of this graph (`--model ROLE=SPEC`); `agentflow graphs` lists them without importing it.
ROLES = ("agent",)

SYSTEM_PROMPT = (
    "You are a precise assistant with tools for arithmetic, unit conversion, the current time and notes. "
    "Call a tool whenever it can answer or check part of the request, read its observation, then answer briefly."
)
#: The fixed answer when the model declines a request no tool serves (chit-chat, general knowledge, other
#: languages): a refusal is decided, never written, so it cannot come out garbled.
REFUSAL = "Sorry, I can't help with that. I can do arithmetic, unit conversions, the current time and notes."


def make_graph(tools: Sequence[Any] = ()) -> StateGraph:
    """The ReAct agent; `tools` (tools or MCP servers, e.g. from `--mcp-stdio`) join the bundled ones."""
    return agentflow.react_graph([*DEFAULT_TOOLS, *tools], system_prompt=SYSTEM_PROMPT, refusal=REFUSAL)
