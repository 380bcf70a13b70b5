"""Supervisor routing and handoffs with scripted models; per-role models; one budget for every agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import agentflow
from agentflow import Budget, tool
from agentflow.exceptions import ConfigError
from agentflow.patterns.agent import Agent
from agentflow.patterns.handoff import handoff_graph
from agentflow.patterns.supervisor import route_schema, supervisor_graph
from agentflow.store import RunStore
from agentflow.testing import ScriptedModel

from helpers import add, call, calls, final

pytestmark = pytest.mark.anyio


@tool(read_only=True)
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool(read_only=True)
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


AGENTS = [
    Agent(name="mathematician", description="does arithmetic", tools=[add]),
    Agent(name="forecaster", description="knows the weather", tools=[weather]),
    Agent(name="editor", description="formats text", tools=[shout]),
]


def route(agent: str, task: str) -> dict[str, Any]:
    return final({"next": agent, "task": task})


def decisions_by_agent(db: Path, run_id: str) -> list[str]:
    return [e.agent for e in RunStore(db).events(run_id) if e.kind == "model_decision"]


async def test_supervisor_routes_across_three_agents(db_path: Path) -> None:
    """The supervisor sends work to each of three specialists in turn, reads their reports, and finishes; each
    specialist's conversation holds only its own task; the trace names who did what."""
    model = ScriptedModel(roles={
        "supervisor": [route("mathematician", "add 2 and 3"), route("forecaster", "weather in Oslo"),
                       route("editor", "shout 'five and sunny'"), final({"next": "FINISH", "answer": "FIVE AND SUNNY"})],
        "mathematician": [calls(call("add", a=2, b=3)), final("5")],
        "forecaster": [calls(call("weather", city="Oslo")), final("sunny")],
        "editor": [calls(call("shout", text="five and sunny")), final("FIVE AND SUNNY")],
    })
    result = await agentflow.run(supervisor_graph(AGENTS), "plan my day", model=model, db=db_path)
    assert result.ok and result.output == "FIVE AND SUNNY"
    assert decisions_by_agent(db_path, result.run_id) == [
        "supervisor", "mathematician", "mathematician", "supervisor", "forecaster", "forecaster",
        "supervisor", "editor", "editor", "supervisor"]
    events = RunStore(db_path).events(result.run_id)
    last_supervisor = [e for e in events if e.kind == "model_decision" and e.agent == "supervisor"][-1]
    seen = " ".join(m["content"] for m in last_supervisor.data["messages"])
    assert "editor reports: FIVE AND SUNNY" in seen
    forecaster_first = next(e for e in events if e.kind == "model_decision" and e.agent == "forecaster")
    assert [m["content"] for m in forecaster_first.data["messages"] if m["role"] == "user"] == ["weather in Oslo"]


async def test_unknown_agent_route_goes_back_to_the_supervisor(db_path: Path) -> None:
    """A route naming no agent is refused with the reason and the supervisor routes again."""
    model = ScriptedModel(roles={
        "supervisor": [route("astrologer", "stars"), route("mathematician", "1+1"),
                       final({"next": "FINISH", "answer": "2"})],
        "mathematician": [final("2")],
    })
    result = await agentflow.run(supervisor_graph(AGENTS), "1+1?", model=model, db=db_path)
    assert result.ok and result.output == "2"
    second = [e for e in RunStore(db_path).events(result.run_id)
              if e.kind == "model_decision" and e.agent == "supervisor"][1]
    assert "there is no agent 'astrologer'" in second.data["messages"][-1]["content"]


def test_route_schema_lists_the_agents() -> None:
    """The routing decision's schema admits exactly the agents' names (and FINISH)."""
    schema = route_schema(["a", "b"])
    assert schema["anyOf"][0]["properties"]["next"] == {"enum": ["a", "b"]}
    assert schema["anyOf"][1]["properties"]["next"] == {"const": "FINISH"}


async def test_per_role_models(db_path: Path) -> None:
    """Each role takes its model from `models=`; the run's default covers the rest; the run records them."""
    supervisor = ScriptedModel([route("mathematician", "2+2"), final({"next": "FINISH", "answer": "4"})],
                               spec="scripted:sup")
    mathematician = ScriptedModel([final("4")], spec="scripted:math")
    result = await agentflow.run(supervisor_graph(AGENTS), "2+2?", model=supervisor,
                                 models={"mathematician": mathematician}, db=db_path)
    assert result.ok and result.output == "4"
    by_agent = {e.agent: e.data["model"] for e in RunStore(db_path).events(result.run_id) if e.kind == "model_decision"}
    assert by_agent == {"supervisor": "scripted:sup", "mathematician": "scripted:math"}
    assert RunStore(db_path).get_run(result.run_id).model == "scripted:sup mathematician=scripted:math"


class Refund(BaseModel):
    order: str
    amount: int


def triage_and_billing() -> list[Agent]:
    return [
        Agent(name="triage", description="first contact", handoffs={"billing": Refund}),
        Agent(name="billing", description="refunds", tools=[add], handoffs=["triage"]),
    ]


async def test_handoff_carries_a_typed_payload(db_path: Path) -> None:
    """Triage hands over to billing with a validated payload; billing answers; an invalid payload is refused
    as an error observation first (the agent then fixes it)."""
    model = ScriptedModel(roles={
        "triage": [calls(call("transfer_to_billing", order="A1", amount="lots")),
                   calls(call("transfer_to_billing", order="A1", amount=30))],
        "billing": [final("refunded 30 on A1")],
    })
    result = await agentflow.run(handoff_graph(triage_and_billing()), "I want my money back", model=model,
                                 db=db_path)
    assert result.ok and result.output == "refunded 30 on A1"
    events = RunStore(db_path).events(result.run_id)
    transfers = [e for e in events if e.kind == "tool_result"]
    assert transfers[0].data["is_error"] and "argument 'amount'" in transfers[0].data["content"]
    billing_first = next(e for e in events if e.kind == "model_decision" and e.agent == "billing")
    assert '"amount": 30' in billing_first.data["messages"][-1]["content"]
    assert decisions_by_agent(db_path, result.run_id) == ["triage", "triage", "billing"]


async def test_a_handoff_loop_is_stopped_by_the_budget(db_path: Path) -> None:
    """Two agents handing the task back and forth end the run budget_exhausted, not in an endless loop."""
    model = ScriptedModel(roles={
        "triage": [calls(call("transfer_to_billing", order="A1", amount=1))] * 50,
        "billing": [calls(call("transfer_to_triage", task="not mine"))] * 50,
    })
    result = await agentflow.run(handoff_graph(triage_and_billing()), "loop", model=model, db=db_path,
                                 budget=Budget(max_steps=7))
    assert result.status == "budget_exhausted" and result.budget == "steps"
    assert result.usage["steps"] == 7
    assert result.partial in ("triage handed over to billing", "billing handed over to triage")


def test_handoff_to_an_unknown_agent_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown agents: nobody"):
        handoff_graph([Agent(name="a", handoffs=["nobody"])])


async def test_one_budget_counts_every_agent(db_path: Path) -> None:
    """The run's usage is the sum over every agent's model calls and tool calls (supervisor, specialists)."""
    model = ScriptedModel(roles={
        "supervisor": [route("mathematician", "add 1 and 2"), route("forecaster", "weather in Rome"),
                       final({"next": "FINISH", "answer": "3, sunny"})],
        "mathematician": [calls(call("add", a=1, b=2)), final("3")],
        "forecaster": [calls(call("weather", city="Rome")), final("sunny")],
    })
    result = await agentflow.run(supervisor_graph(AGENTS), "two things", model=model, db=db_path,
                                 budget=Budget(max_tokens=100_000))
    assert result.ok
    events = RunStore(db_path).events(result.run_id)
    decisions = [e for e in events if e.kind == "model_decision"]
    assert result.usage["steps"] == len(decisions) == 7
    assert result.usage["input_tokens"] == sum(e.data["input_tokens"] for e in decisions)
    assert result.usage["output_tokens"] == sum(e.data["output_tokens"] for e in decisions)
    assert result.usage["tool_calls"] == 2
