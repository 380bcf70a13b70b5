"""LangGraph nodes for any `StateGraph` over `AgentState`: the model decision (`ModelNode`, `model_step`), running
the decided tool calls (`ToolNode`), guards (`BudgetGuard`, `ApprovalGate`) and sub-agents (`run_subagent`)."""

from agentflow.nodes.guards import ApprovalGate, BudgetGuard
from agentflow.nodes.model_node import (
    DEFAULT_SYSTEM_PROMPT,
    ModelNode,
    input_text,
    model_step,
    route_after_model,
)
from agentflow.nodes.state import AgentState
from agentflow.nodes.subagent import SubagentResult, run_subagent
from agentflow.nodes.tool_node import ToolNode

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "AgentState",
    "ApprovalGate",
    "BudgetGuard",
    "ModelNode",
    "SubagentResult",
    "ToolNode",
    "input_text",
    "model_step",
    "route_after_model",
    "run_subagent",
]
