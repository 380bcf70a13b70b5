"""Handoffs: agents that transfer control to a named peer with a typed payload (no supervisor).

Each agent is a ReAct agent whose tools include one `transfer_to_<peer>` tool per peer it may hand off to;
that tool's arguments are the peer's payload model, so the payload is validated like any tool call (decoded
under its schema by constrained backends; an invalid one comes back to the agent as an error observation).
A successful transfer ends the agent's turn; the peer starts (or continues its own conversation) with the
payload. An agent that answers ends the run with its answer. Every hop draws from the run's budget, so a
ping-pong between agents ends `budget_exhausted`; `max_handoffs` can stop it sooner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from agentflow.exceptions import ConfigError, RunError
from agentflow.graph_walk import with_subgraphs
from agentflow.messages import Message, user_message
from agentflow.nodes.model_node import ModelNode, input_text, route_after_model
from agentflow.nodes.state import AgentState
from agentflow.nodes.subagent import run_subagent
from agentflow.nodes.tool_node import ToolNode
from agentflow.patterns.agent import Agent
from agentflow.tooling.tool import Tool

__all__ = ["TRANSFER_PREFIX", "HandoffState", "handoff_graph", "transfer_tool"]

TRANSFER_PREFIX = "transfer_to_"


def _concat(a: list[Any] | None, b: list[Any] | None) -> list[Any]:
    return [*(a or []), *(b or [])]


def _put(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    return {**(a or {}), **(b or {})}


class HandoffState(TypedDict, total=False):
    input: Any
    output: Any
    partial: Any
    active: str  # the agent whose turn it is
    payload: dict[str, Any] | None  # what the previous agent handed over
    conversations: Annotated[dict[str, list[Message]], _put]
    transfers: Annotated[list[dict[str, Any]], _concat]  # {"from", "to", "payload"}, in order


def transfer_tool(peer: str, payload: type[BaseModel], description: str = "") -> Tool:
    """The tool an agent calls to hand control to `peer`; its arguments are `payload`'s fields."""

    def transfer(**fields: Any) -> dict[str, Any]:
        return payload(**fields).model_dump(mode="json")

    return Tool(
        name=f"{TRANSFER_PREFIX}{peer}",
        function=transfer,
        args_model=payload,
        description=f"Hand the conversation over to {peer}" + (f": {description}" if description else "."),
        read_only=True,
        destructive=False,
        idempotent=True,
    )


def _transfer_of(messages: Sequence[Message]) -> tuple[str, dict[str, Any]] | None:
    """(peer, payload) of a successful transfer in the last decision's results, if any."""
    last_calls: dict[str, dict[str, Any]] = {}
    for message in reversed(messages):
        if message.get("role") == "assistant":
            last_calls = {c["id"]: c for c in message.get("tool_calls") or []}
            break
    for message in messages[-len(last_calls) :] if last_calls else ():
        name = message.get("name") or ""
        if message.get("role") == "tool" and name.startswith(TRANSFER_PREFIX) and not message.get("is_error"):
            call = last_calls.get(message.get("tool_call_id", ""))
            return name[len(TRANSFER_PREFIX) :], (call or {}).get("arguments", {})
    return None


def _agent_graph(agent: Agent, peers: dict[str, Agent]) -> Any:
    transfers = [transfer_tool(peer, model, peers[peer].description) for peer, model in agent.peers.items()]
    tools = [*agent.tools, *transfers]

    def after_tools(state: AgentState) -> str:
        return END if _transfer_of(state.get("messages") or []) else "model"

    builder = StateGraph(AgentState)
    builder.add_node(
        "model",
        ModelNode(
            tools,
            model=agent.model,
            system_prompt=agent.system_prompt,
            final_schema=agent.final_schema,
            role=agent.name,
        ),
    )
    builder.add_node("tools", ToolNode(tools, role=agent.name, approval=agent.approval))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route_after_model, {"tools": "tools", "__end__": END})
    builder.add_conditional_edges("tools", after_tools, {"model": "model", END: END})
    return builder.compile()


def handoff_graph(
    agents: Sequence[Agent], *, entry: str | None = None, max_handoffs: int | None = None
) -> StateGraph:
    """A handoff `StateGraph` (uncompiled): the run starts with `entry` (default: the first agent)."""
    if not agents:
        raise ConfigError("a handoff graph needs at least one agent")
    by_name = {a.name: a for a in agents}
    if len(by_name) != len(agents):
        raise ConfigError(f"agent names must be unique: {[a.name for a in agents]}")
    for agent in agents:
        unknown = [p for p in agent.peers if p not in by_name]
        if unknown:
            raise ConfigError(f"agent '{agent.name}' hands off to unknown agents: {', '.join(unknown)}")
    first = entry or agents[0].name
    if first not in by_name:
        raise ConfigError(f"entry agent {first!r} is not one of: {', '.join(by_name)}")

    def make_node(agent: Agent) -> Any:
        graph = _agent_graph(agent, by_name)

        async def node(state: HandoffState) -> dict[str, Any]:
            payload = state.get("payload")
            if payload is None:
                text = input_text(state.get("input", ""))
            else:
                sender = (state.get("transfers") or [{}])[-1].get("from", "?")
                text = (
                    f"{sender} handed this over to you: {json.dumps(payload, ensure_ascii=False)}\n"
                    f"Original request: {input_text(state.get('input', ''))}"
                )
            history = (state.get("conversations") or {}).get(agent.name, [])
            outcome = await run_subagent(
                graph, text, agent=agent.name, extra={"messages": [*history, user_message(text)]}
            )
            if not outcome.ok and outcome.state is None:
                raise RunError(f"agent '{agent.name}' failed: {outcome.error}")
            messages = list((outcome.state or {}).get("messages") or [])
            update: dict[str, Any] = {"conversations": {agent.name: messages}}
            transfer = _transfer_of(messages)
            if transfer is None:
                update.update(output=outcome.output, partial=outcome.output, active="", payload=None)
                return update
            peer, handed = transfer
            hops = len(state.get("transfers") or []) + 1
            if max_handoffs is not None and hops > max_handoffs:
                raise RunError(f"more than {max_handoffs} handoffs (last: {agent.name} -> {peer})")
            update.update(
                active=peer,
                payload=handed,
                partial=f"{agent.name} handed over to {peer}",
                transfers=[{"from": agent.name, "to": peer, "payload": handed}],
            )
            return update

        with_subgraphs(node, graph)  # where `graph_sources` finds its tools
        return node

    def route(state: HandoffState) -> str:
        return state.get("active") or END

    builder = StateGraph(HandoffState)
    for agent in agents:
        builder.add_node(agent.name, make_node(agent))
        builder.add_conditional_edges(agent.name, route, [END, *by_name])
    builder.add_edge(START, first)
    return builder
