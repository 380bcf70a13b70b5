"""Ready-made agent graphs built from `agentflow.nodes`: ReAct, plan-and-execute, supervisor and handoffs, and
the `Agent` record multi-agent graphs are made of. Each returns an uncompiled LangGraph `StateGraph`."""

from agentflow.patterns.agent import Agent, Handover
from agentflow.patterns.handoff import handoff_graph
from agentflow.patterns.plan_execute import plan_execute_graph
from agentflow.patterns.react import react_graph
from agentflow.patterns.supervisor import supervisor_graph

__all__ = ["Agent", "Handover", "handoff_graph", "plan_execute_graph", "react_graph", "supervisor_graph"]
