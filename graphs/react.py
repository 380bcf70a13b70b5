"""A ReAct agent over the bundled tools: calculator, unit conversion, current time, notes.

agentflow run react --input "What is 17 * 23 + 4?"
agentflow run graphs/react.py --input "Convert 5 km to miles" --model transformers:./my-model
"""

from langgraph.graph import StateGraph

import agentflow
from agentflow.toolkit import DEFAULT_TOOLS

SYSTEM_PROMPT = (
    "You are a precise assistant with tools for arithmetic, unit conversion, the current time and notes. "
    "Call a tool whenever it can answer or check part of the request, read its observation, then answer briefly."
)


def make_graph() -> StateGraph:
    return agentflow.react_graph(DEFAULT_TOOLS, system_prompt=SYSTEM_PROMPT)
