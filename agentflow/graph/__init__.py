"""LangGraph building blocks: state, nodes, the ReAct graph, per-run services and graph loading."""

from agentflow.graph.nodes import DEFAULT_SYSTEM_PROMPT, ModelNode, route_after_model
from agentflow.graph.react import react_graph
from agentflow.graph.services import RunServices, services
from agentflow.graph.state import AgentState
from agentflow.graph.tool_node import ToolNode

__all__ = ["DEFAULT_SYSTEM_PROMPT", "AgentState", "ModelNode", "RunServices", "ToolNode", "react_graph",
           "route_after_model", "services"]
