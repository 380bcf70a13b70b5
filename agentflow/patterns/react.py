"""The ReAct graph: model -> tools -> model -> ... until the model gives a final answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.graph import START, StateGraph

from agentflow.approval import ApprovalPolicy
from agentflow.context.policy import ContextPolicy
from agentflow.models.base import Model
from agentflow.nodes.model_node import DEFAULT_SYSTEM_PROMPT, ModelNode, route_after_model
from agentflow.nodes.state import AgentState
from agentflow.nodes.tool_node import ToolNode
from agentflow.tooling.source import ToolSource
from agentflow.tooling.tool import Tool

__all__ = ["react_graph"]


def react_graph(
    tools: Sequence[Tool | ToolSource],
    *,
    model: Model | None = None,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    final_schema: dict[str, Any] | None = None,
    role: str = "agent",
    approval: ApprovalPolicy | Mapping[str, ApprovalPolicy] | None = None,
    context: ContextPolicy | None = None,
    refusal: str | None = None,
) -> StateGraph:
    """A ReAct `StateGraph` (not compiled: the runner compiles it with the SQLite checkpointer).

    `model=None` uses the run's model (`--model`); pass one to pin it. `approval` overrides the tools' approval
    policies (one for all, or by tool name). `context` keeps long conversations inside the model's context
    window (`ContextPolicy.keep_last()`, `.summarize()`, `.custom(fn)`). `refusal` lets the model decline a
    request it cannot serve with this fixed answer (see `ModelNode`).
    """
    builder = StateGraph(AgentState)
    builder.add_node(
        "model",
        ModelNode(
            tools,
            model=model,
            system_prompt=system_prompt,
            final_schema=final_schema,
            role=role,
            context=context,
            refusal=refusal,
        ),
    )
    builder.add_node("tools", ToolNode(tools, role=role, approval=approval))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route_after_model, {"tools": "tools", "__end__": "__end__"})
    builder.add_edge("tools", "model")
    return builder
