"""Typed tools: the `@tool` decorator, the `RunContext` a tool may ask for, and call execution."""

from agentflow.tooling.context import RunContext
from agentflow.tooling.execute import DEFAULT_MAX_OBSERVATION_CHARS, ToolOutcome, execute_call
from agentflow.tooling.tool import Tool, tool

__all__ = ["DEFAULT_MAX_OBSERVATION_CHARS", "RunContext", "Tool", "ToolOutcome", "execute_call", "tool"]
