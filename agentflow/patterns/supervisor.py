"""The supervisor pattern: a supervisor routes work to specialist agents and decides when the task is done.

    supervisor ──{"next": "<agent>", "task": ...}──► <agent> (a ReAct sub-agent) ──report──► supervisor
        └──{"next": "FINISH", "answer": ...}──► END

The routing decision is decoded under a schema listing the agents (`route_schema`), so a constrained backend
can only name an agent that exists; other backends' routes are checked, and a bad one goes back to the
supervisor with the reason (after `max_attempts` in a row: `RoutingError`). Each specialist keeps its own
conversation; the supervisor sees only the tasks it gave and the reports it got. Roles: `supervisor` and each
agent's name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agentflow.exceptions import ConfigError, RoutingError
from agentflow.graph_walk import uses_roles, with_subgraphs
from agentflow.messages import Message, assistant_message, system_message, user_message
from agentflow.models.base import Model
from agentflow.nodes.model_node import input_text, model_step
from agentflow.nodes.subagent import run_subagent
from agentflow.patterns.agent import Agent
from agentflow.patterns.react import react_graph

__all__ = ["FINISH", "SupervisorState", "route_schema", "supervisor_graph"]

FINISH = "FINISH"
SUPERVISOR_PROMPT = (
    "You are a supervisor. Route the user's task to the agent best suited for the next piece of work, with a "
    "clear instruction, and read its report. When the task is done, finish with the answer.\nAgents:\n{agents}"
)


def _concat(a: list[Any] | None, b: list[Any] | None) -> list[Any]:
    return [*(a or []), *(b or [])]


def _put(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    return {**(a or {}), **(b or {})}


class SupervisorState(TypedDict, total=False):
    input: Any
    output: Any
    partial: Any
    supervisor_messages: Annotated[list[Message], _concat]
    conversations: Annotated[dict[str, list[Message]], _put]  # each agent's own conversation
    reports: Annotated[list[dict[str, Any]], _concat]  # {"agent", "task", "ok", "result"}, in order
    route: dict[str, Any] | None
    attempts: int


def route_schema(names: Sequence[str], final_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"next": <one of names>, "task": str}` or `{"next": "FINISH", "answer": <final_schema>}`."""
    answer = final_schema or {"type": "string", "maxLength": 400}
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "next": {"enum": list(names)},
                    "task": {"type": "string", "minLength": 1, "maxLength": 300},
                },
                "required": ["next", "task"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"next": {"const": FINISH}, "answer": answer},
                "required": ["next", "answer"],
                "additionalProperties": False,
            },
        ]
    }


def _check_route(route: Any, names: Sequence[str]) -> str | None:
    """Why `route` cannot be followed, or None."""
    if not isinstance(route, dict) or "next" not in route:
        return 'the route must be an object with "next"'
    target = route["next"]
    if target == FINISH:
        return None if "answer" in route else 'a "FINISH" route needs "answer"'
    if target not in names:
        return f"there is no agent {target!r} (agents: {', '.join(names)})"
    if not isinstance(route.get("task"), str) or not route["task"].strip():
        return f'a route to {target} needs a "task" for it'
    return None


def supervisor_graph(
    agents: Sequence[Agent],
    *,
    system_prompt: str = SUPERVISOR_PROMPT,
    final_schema: dict[str, Any] | None = None,
    model: Model | None = None,
    max_attempts: int = 3,
) -> StateGraph:
    """A supervisor `StateGraph` over `agents` (uncompiled). `model` pins the supervisor's model."""
    if not agents:
        raise ConfigError("a supervisor graph needs at least one agent")
    names = [a.name for a in agents]
    if len(set(names)) != len(names) or FINISH in names or "supervisor" in names:
        raise ConfigError(f"agent names must be unique and not 'FINISH' / 'supervisor': {names}")
    schema = route_schema(names, final_schema)
    roster = "\n".join(f"- {a.name}: {a.description or 'no description'}" for a in agents)
    prompt = (
        system_prompt.format(agents=roster)
        if "{agents}" in system_prompt
        else f"{system_prompt}\nAgents:\n{roster}"
    )

    async def supervise(state: SupervisorState) -> dict[str, Any]:
        new: list[Message] = []
        if not state.get("supervisor_messages"):
            new.append(user_message(input_text(state.get("input", ""))))
        messages = [system_message(prompt), *(state.get("supervisor_messages") or []), *new]
        decision, raw, _ = await model_step(messages, role="supervisor", final_schema=schema, model=model)
        new.append(assistant_message(decision, raw))
        route = decision.final_answer if decision.is_final else None
        problem = (
            _check_route(route, names) if decision.is_final else "route with next/task, do not call tools"
        )
        if problem is not None or not isinstance(route, dict):
            attempts = (state.get("attempts") or 0) + 1
            if attempts >= max_attempts:
                raise RoutingError(f"no usable route after {attempts} attempts; last problem: {problem}")
            new.append(user_message(f"That route cannot be followed: {problem}."))
            return {"supervisor_messages": new, "attempts": attempts, "route": None}
        update: dict[str, Any] = {"supervisor_messages": new, "attempts": 0, "route": route}
        if route["next"] == FINISH:
            update["output"] = route["answer"]
        return update

    def route_next(state: SupervisorState) -> str:
        route = state.get("route")
        if route is None:
            return "supervisor"
        return END if route["next"] == FINISH else route["next"]

    builder = StateGraph(SupervisorState)
    builder.add_node("supervisor", uses_roles(supervise, "supervisor"))
    for agent in agents:
        builder.add_node(agent.name, _specialist_node(agent))
        builder.add_edge(agent.name, "supervisor")
    builder.add_edge(START, "supervisor")
    builder.add_conditional_edges("supervisor", route_next, ["supervisor", END, *names])
    return builder


def _specialist_node(agent: Agent) -> Any:
    graph = react_graph(
        agent.tools,
        model=agent.model,
        system_prompt=agent.system_prompt,
        final_schema=agent.final_schema,
        role=agent.name,
        approval=agent.approval,
    ).compile()

    async def specialist(state: SupervisorState) -> dict[str, Any]:  # (its graph's tools: `subgraphs`)
        task = (state.get("route") or {}).get("task", "")
        history = (state.get("conversations") or {}).get(agent.name, [])
        outcome = await run_subagent(
            graph, task, agent=agent.name, extra={"messages": [*history, user_message(task)]}
        )
        result = outcome.output if outcome.ok else f"failed: {outcome.error}"
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        conversation = list((outcome.state or {}).get("messages") or [*history, user_message(task)])
        return {
            "conversations": {agent.name: conversation},
            "reports": [{"agent": agent.name, "task": task, "ok": outcome.ok, "result": result}],
            "supervisor_messages": [user_message(f"{agent.name} reports: {text}")],
            "partial": result,
            "route": None,
        }

    with_subgraphs(specialist, graph)  # where `graph_sources` finds its tools

    return specialist
