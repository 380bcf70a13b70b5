"""LangGraph building blocks: state, nodes, the ReAct, plan-and-execute, supervisor and handoff graphs, guards,
per-run services and graph loading."""

from agentflow.patterns.agent import Agent, Handover
from agentflow.nodes.guards import ApprovalGate, BudgetGuard
from agentflow.patterns.handoff import handoff_graph
from agentflow.nodes.model_node import DEFAULT_SYSTEM_PROMPT, ModelNode, model_step, route_after_model
from agentflow.patterns.plan_execute import plan_execute_graph
from agentflow.patterns.react import react_graph
from agentflow.runtime.services import RunServices, agent_scope, services
from agentflow.nodes.state import AgentState
from agentflow.nodes.subagent import SubagentResult, run_subagent
from agentflow.patterns.supervisor import supervisor_graph
from agentflow.nodes.tool_node import ToolNode

__all__ = ["DEFAULT_SYSTEM_PROMPT", "Agent", "AgentState", "ApprovalGate", "BudgetGuard", "Handover", "ModelNode",
           "RunServices", "SubagentResult", "ToolNode", "agent_scope", "handoff_graph", "model_step",
           "plan_execute_graph", "react_graph", "route_after_model", "run_subagent", "services", "supervisor_graph"]
