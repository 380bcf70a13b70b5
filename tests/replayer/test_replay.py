"""Replay: recorded runs of every bundled graph pattern re-execute from their recording alone (no model, no
tool), and a changed tool schema, prompt or tool call is reported where it first differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow import Divergence, HumanDecision, Runner, react_graph, tool
from agentflow.testing import ScriptedModel

from helpers import call, calls, final
from trace_runs import lookup_order, record_approval, record_plan_execute, record_tool_error, refund_graph

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]
SCRIPTED = REPO / "examples" / "scripted"

RAN: list[str] = []


@tool
def lookup(city: str) -> str:
    """The weather in a city."""
    RAN.append(city)
    return f"sunny in {city}"


@tool(name="lookup")
def lookup_v2(city: str, units: str = "metric") -> str:
    """The weather in a city."""
    RAN.append(city)
    return f"sunny in {city}"  # (the same tool, its schema changed)


def weather_model() -> ScriptedModel:
    return ScriptedModel([calls(call("lookup", city="Oslo")), final("Sunny in Oslo.")])


@pytest.fixture
def nothing_runs() -> bool:
    """The replays of the test may neither execute a tool nor load a model (`_replayed` enforces it)."""
    return True


async def _replayed(db: Path, run_id: str, *, offline: bool = False, **options: Any) -> Any:
    """Replay `run_id`; with `offline`, executing a tool or loading a model fails the test."""
    import agentflow.models.spec as spec
    import agentflow.nodes.tool_node as tool_node

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a replay executed a tool or loaded a model")

    async with Runner(db) as runner:
        original = await runner.storage.get_run(run_id)
        with pytest.MonkeyPatch.context() as patch:
            if offline:
                patch.setattr(tool_node, "execute_call", refuse)
                patch.setattr(spec, "load_model", refuse)
            outcome = await runner.replay(run_id, **options)
        replay = await runner.storage.get_run(outcome.run_id)
    assert replay.parent_id == original.id and replay.settings["replay_of"] == original.id
    return original, outcome


@pytest.mark.parametrize(
    ("graph", "request_text", "script"),
    [
        ("react", "What is 17 * 23 + 4?", "arithmetic.json"),
        ("supervisor", "What time is it in Tokyo, and what is 2**10?", "supervisor.json"),
        ("handoff", "Please note that the boiler was serviced today", "handoff.json"),
    ],
)
async def test_bundled_graph_runs_replay_exactly(
    graph: str, request_text: str, script: str, db_path: Path, nothing_runs: bool
) -> None:
    """A bundled graph's run replays with the same output and usage, every call served by the recording."""
    run = await agentflow.run(graph, request_text, model=f"scripted:{SCRIPTED / script}", db=db_path)
    original, outcome = await _replayed(db_path, run.run_id, offline=nothing_runs)
    assert outcome.diverged is None and outcome.result.status == "succeeded"
    assert outcome.result.output == original.output
    for key in ("steps", "input_tokens", "output_tokens", "tool_calls", "cost_usd"):
        assert outcome.result.usage[key] == original.usage[key]
    assert outcome.model_calls_replayed == original.usage["steps"]
    assert outcome.tool_results_replayed == original.usage["tool_calls"]


async def test_parallel_plan_steps_replay_exactly(db_path: Path, nothing_runs: bool) -> None:
    """Plan-and-execute with parallel executor sub-agents: each agent's calls come back in its own order."""
    original, outcome = await _replayed(db_path, await record_plan_execute(db_path), offline=nothing_runs)
    assert outcome.diverged is None and outcome.result.output == original.output
    assert outcome.result.usage["steps"] == original.usage["steps"] == outcome.model_calls_replayed


async def test_a_run_with_a_human_approval_replays_its_decision(db_path: Path, nothing_runs: bool) -> None:
    """The replay pauses where the original did and is given the recorded decision again."""
    original, outcome = await _replayed(
        db_path, await record_approval(db_path), graph=refund_graph(), offline=nothing_runs
    )
    assert outcome.diverged is None and outcome.result.status == "succeeded"
    assert outcome.result.output == original.output


async def test_a_run_resumed_after_a_budget_stop_replays_in_one_go(db_path: Path, nothing_runs: bool) -> None:
    """Recorded in two executions (a budget stop after step 1, then resume): the replay, in one go with the
    run's final budget, reproduces its output and usage."""
    graph = react_graph([lookup])
    async with Runner(db_path) as runner:
        stopped = await runner.run(
            graph, "Weather in Oslo?", model=weather_model(), budget=agentflow.Budget(max_steps=1)
        )
        assert stopped.status == "budget_exhausted"
        done = await runner.resume(
            stopped.run_id, graph=graph, model=weather_model(), budget=agentflow.Budget()
        )
        assert done.status == "succeeded"
    original, outcome = await _replayed(db_path, done.run_id, graph=graph, offline=nothing_runs)
    assert outcome.diverged is None and outcome.result.output == original.output == "Sunny in Oslo."
    assert outcome.result.usage["steps"] == original.usage["steps"] == 2


async def test_a_failed_tool_call_replays_as_recorded(db_path: Path, nothing_runs: bool) -> None:
    """A run whose first tool call failed (invalid arguments) and was corrected replays the same way."""
    run_id = await record_tool_error(db_path)
    graph = react_graph([lookup_order], system_prompt="You look orders up.")
    original, outcome = await _replayed(db_path, run_id, graph=graph, offline=nothing_runs)
    assert outcome.diverged is None and outcome.result.output == original.output


async def test_a_changed_tool_schema_is_a_divergence_at_its_step(db_path: Path) -> None:
    """The same run replayed with a tool whose schema changed stops at step 1: the offer differs."""
    RAN.clear()
    run = await agentflow.run(react_graph([lookup]), "Weather in Oslo?", model=weather_model(), db=db_path)
    _, outcome = await _replayed(db_path, run.run_id, graph=react_graph([lookup_v2]))
    assert isinstance(outcome.diverged, Divergence)
    assert (outcome.diverged.what, outcome.diverged.step, outcome.diverged.agent) == ("offer", 1, "agent")
    assert "'lookup' changed" in outcome.diverged.message
    assert outcome.result.status == "failed" and RAN == ["Oslo"]  # (only the original ran the tool)


async def test_a_changed_prompt_is_a_divergence_in_the_messages(db_path: Path) -> None:
    """A graph whose system prompt changed diverges at step 1, message 0."""
    run = await agentflow.run(react_graph([lookup]), "Weather in Oslo?", model=weather_model(), db=db_path)
    _, outcome = await _replayed(db_path, run.run_id, graph=react_graph([lookup], system_prompt="Be terse."))
    assert outcome.diverged is not None and outcome.diverged.what == "messages" and outcome.diverged.step == 1
    assert (
        "message 0 (system)" in outcome.diverged.message and outcome.diverged.actual["content"] == "Be terse."
    )


async def test_live_tools_run_the_tools_and_until_stops_early(db_path: Path) -> None:
    """`live_tools` executes the tools with the recorded model outputs; `until` stops at that step."""
    RAN.clear()
    run = await agentflow.run(react_graph([lookup]), "Weather in Oslo?", model=weather_model(), db=db_path)
    _, live = await _replayed(db_path, run.run_id, graph=react_graph([lookup]), live_tools=True)
    assert live.diverged is None and RAN == ["Oslo", "Oslo"] and live.tool_results_replayed == 0
    _, short = await _replayed(db_path, run.run_id, graph=react_graph([lookup]), until=1)
    assert short.diverged is None and short.result.status == "budget_exhausted"
    assert short.result.usage["steps"] == 1 and RAN == ["Oslo", "Oslo"]


async def test_a_live_model_is_compared_with_the_recording(db_path: Path) -> None:
    """With a live model the run goes on; its first different decision is reported, and a tool call the
    original made with the same arguments gets the recorded result."""
    RAN.clear()
    run = await agentflow.run(react_graph([lookup]), "Weather in Oslo?", model=weather_model(), db=db_path)
    other = ScriptedModel([calls(call("lookup", city="Oslo")), final("It is sunny in Oslo today.")])
    _, outcome = await _replayed(db_path, run.run_id, graph=react_graph([lookup]), live_model=other)
    assert outcome.result.status == "succeeded" and outcome.result.output == "It is sunny in Oslo today."
    assert outcome.diverged is not None and (outcome.diverged.what, outcome.diverged.step) == ("decision", 2)
    assert RAN == ["Oslo"] and outcome.tool_results_replayed == 1


async def test_fork_at_continues_live_from_an_edited_checkpoint(db_path: Path) -> None:
    """`fork_at` with edits starts a linked run from that checkpoint of the original (a fork)."""
    run = await agentflow.run(react_graph([lookup]), "Weather in Oslo?", model=weather_model(), db=db_path)
    async with Runner(db_path) as runner:
        outcome = await runner.replay(
            run.run_id,
            graph=react_graph([lookup]),
            fork_at=0,
            edits={"input": "Weather in Oslo?"},
            live_model=weather_model(),
        )
        forked = await runner.storage.get_run(outcome.run_id)
    assert outcome.result.status == "succeeded" and forked.forked_from == f"{run.run_id}@0"


async def test_replay_refuses_inconsistent_options(db_path: Path) -> None:
    """Edits without a checkpoint to fork at, or `until` below 1, are usage errors."""
    run = await agentflow.run(react_graph([lookup]), "Weather in Oslo?", model=weather_model(), db=db_path)
    async with Runner(db_path) as runner:
        with pytest.raises(agentflow.UserError, match="--fork-at"):
            await runner.replay(run.run_id, graph=react_graph([lookup]), edits={"x": 1})
        with pytest.raises(agentflow.UserError, match="from 1"):
            await runner.replay(run.run_id, graph=react_graph([lookup]), until=0)
        assert HumanDecision  # (imported for the approval test)
