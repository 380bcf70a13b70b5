"""Typed tools: the `@tool` decorator, the `RunContext` a tool may ask for, and call execution."""

from agentflow.tooling.context import RunContext
from agentflow.tooling.execute import DEFAULT_MAX_OBSERVATION_CHARS, ToolOutcome, ToolReturn, execute_call
from agentflow.tooling.quoted import Quoted
from agentflow.tooling.tool import Tool, tool

__all__ = [
    "DEFAULT_MAX_OBSERVATION_CHARS",
    "Quoted",
    "RunContext",
    "Tool",
    "ToolOutcome",
    "ToolReturn",
    "execute_call",
    "tool",
]
