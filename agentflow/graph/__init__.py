"""LangGraph building blocks: state, nodes, the ReAct, plan-and-execute, supervisor and handoff graphs, guards,
per-run services and graph loading."""

from agentflow.graph.agent import Agent, Handover
from agentflow.graph.guards import ApprovalGate, BudgetGuard
from agentflow.graph.handoff import handoff_graph
from agentflow.graph.nodes import DEFAULT_SYSTEM_PROMPT, ModelNode, model_step, route_after_model
from agentflow.graph.plan_execute import plan_execute_graph
from agentflow.graph.react import react_graph
from agentflow.graph.services import RunServices, agent_scope, services
from agentflow.graph.state import AgentState
from agentflow.graph.subagent import SubagentResult, run_subagent
from agentflow.graph.supervisor import supervisor_graph
from agentflow.graph.tool_node import ToolNode

__all__ = ["DEFAULT_SYSTEM_PROMPT", "Agent", "AgentState", "ApprovalGate", "BudgetGuard", "Handover", "ModelNode",
           "RunServices", "SubagentResult", "ToolNode", "agent_scope", "handoff_graph", "model_step",
           "plan_execute_graph", "react_graph", "route_after_model", "run_subagent", "services", "supervisor_graph"]
