"""Running graphs: the ReAct loop, budgets, parallel calls, cancellation, records and events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

import agentflow
import agentflow.events
from agentflow import Budget, Runner, react_graph, tool
from agentflow.store import RunStore
from agentflow.testing import FunctionModel, ScriptedModel

from helpers import Gate, add, call, calls, final, lookup

pytestmark = pytest.mark.anyio


async def test_react_loop_calls_tool_then_answers(db_path: Path) -> None:
    """The model's tool call runs, its observation reaches the next step, and the final answer is the output."""
    seen: list[str] = []

    def decide(request: agentflow.ModelRequest) -> dict[str, Any]:
        if request.messages[-1]["role"] == "tool":
            seen.append(request.messages[-1]["content"])
            return final(f"sum is {request.messages[-1]['content']}")
        return calls(call("add", a=2, b=40))

    result = await agentflow.run(react_graph([add]), "2+40?", model=FunctionModel(decide), db=db_path)
    assert result.status == "succeeded" and result.output == "sum is 42"
    assert seen == ["42"]
    assert result.usage["steps"] == 2 and result.usage["tool_calls"] == 1
    assert result.usage["input_tokens"] > 0 and result.usage["output_tokens"] > 0


async def test_invalid_arguments_become_observation_not_crash(db_path: Path) -> None:
    """Arguments that fail validation are shown to the model naming the argument; the run goes on."""
    model = ScriptedModel([calls(call("lookup", key="k", limit=80)), final("ok")])
    async with Runner(db_path) as runner:
        result = await runner.run(react_graph([lookup]), "x", model=model)
        events = await runner.storage.events(result.run_id)
    assert result.status == "succeeded"
    observation = next(e.data for e in events if e.kind == "tool_called")
    assert (
        observation["is_error"]
        and "argument 'limit'" in observation["content"]
        and "80" in observation["content"]
    )


async def test_unknown_tool_is_an_observation(db_path: Path) -> None:
    """Calling a tool that does not exist tells the model which tools exist."""
    model = ScriptedModel([calls(call("nope")), final("gave up")])
    async with Runner(db_path) as runner:
        result = await runner.run(react_graph([add]), "x", model=model)
        content = next(
            e.data["content"] for e in await runner.storage.events(result.run_id) if e.kind == "tool_called"
        )
    assert result.ok and "unknown tool 'nope'" in content and "add" in content


async def test_parallel_calls_run_concurrently(db_path: Path) -> None:
    """Several calls in one decision are in flight at the same time; observations keep call order."""
    gate = Gate(expected=3)

    @tool
    async def wait(n: int) -> int:
        """Wait at the gate."""
        await gate.enter()
        return n

    async def opener() -> None:
        await gate.all_in.wait()  # only reachable if all three calls are running at once
        gate.release.set()

    model = ScriptedModel([calls(call("wait", n=1), call("wait", n=2), call("wait", n=3)), final("done")])
    async with anyio.create_task_group() as tg:
        tg.start_soon(opener)
        with anyio.fail_after(20):
            result = await agentflow.run(react_graph([wait]), "go", model=model, db=db_path)
    assert result.ok and gate.entered == 3
    assert result.partial == "done"


@pytest.mark.parametrize(
    ("budget", "name"),
    [
        (Budget(max_steps=2), "steps"),
        (Budget(max_tool_calls=3), "tool_calls"),
        (Budget(max_tokens=150), "tokens"),
    ],
)
async def test_each_budget_stops_a_looping_model(db_path: Path, budget: Budget, name: str) -> None:
    """A model that never answers is stopped by each budget, with usage and the partial result."""
    model = FunctionModel(lambda request: calls(call("add", a=1, b=1), reasoning="again"), spec="openai:loop")
    result = await agentflow.run(react_graph([add]), "loop", model=model, db=db_path, budget=budget)
    assert result.status == "budget_exhausted" and result.budget == name
    assert result.exit_code == 3 and result.output is None
    assert result.partial is not None and result.usage["steps"] >= 1


async def test_cost_budget_from_price_table(db_path: Path) -> None:
    """Cost comes from the runner's price table and stops the run when it reaches the limit."""
    model = FunctionModel(lambda request: calls(call("add", a=1, b=1)), spec="hosted:pricey")
    async with Runner(db_path, prices={"hosted:pricey": (1000.0, 1000.0)}) as runner:
        result = await runner.run(react_graph([add]), "loop", model=model, budget=Budget(max_cost_usd=0.5))
    assert result.budget == "cost" and result.usage["cost_usd"] >= 0.5


async def test_default_budget_stops_runaway_loop(db_path: Path) -> None:
    """With no budget given, the default max_steps ends a model that never answers."""
    model = FunctionModel(lambda request: calls(call("add", a=1, b=1)))
    result = await agentflow.run(react_graph([add]), "loop", model=model, db=db_path)
    assert result.status == "budget_exhausted" and result.budget == "steps"
    assert result.usage["steps"] == agentflow.DEFAULT_BUDGET.max_steps


async def test_wall_time_cancels_tool_in_flight(db_path: Path) -> None:
    """The time budget cancels a tool that is still running and ends the run as budget_exhausted."""
    never = anyio.Event()

    @tool(timeout_s=None)
    async def hang() -> str:
        """Never returns."""
        await never.wait()
        return "unreachable"

    model = ScriptedModel([calls(call("hang")), final("no")])
    with anyio.fail_after(30):
        result = await agentflow.run(
            react_graph([hang]), "x", model=model, db=db_path, budget=Budget(max_wall_s=0.5)
        )
    assert result.status == "budget_exhausted" and result.budget == "time"


async def test_cancellation_is_recorded_and_resumable(db_path: Path) -> None:
    """Cancelling a run records it as cancelled; resuming it finishes from the checkpoint."""
    gate = Gate(expected=1)

    @tool
    async def slow(n: int) -> int:
        """Wait for the gate, the first time only."""
        if not gate.release.is_set():
            await gate.enter()
        return n * 2

    model = ScriptedModel([calls(call("slow", n=21)), final("42")])
    graph = react_graph([slow])
    async with Runner(db_path) as runner:
        run_id = agentflow.new_run_id()
        async with anyio.create_task_group() as tg:

            async def cancel_when_inside() -> None:
                await gate.all_in.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(cancel_when_inside)
            await runner.run(graph, "x", model=model, run_id=run_id)
        assert (await runner.result_of(run_id)).status == "cancelled"
        assert (await runner.result_of(run_id)).exit_code == 130
        gate.release.set()
        resumed = await runner.resume(run_id, graph=graph, model=model)
        kinds = [e.kind for e in await runner.storage.events(run_id)]
    assert resumed.status == "succeeded" and resumed.output == "42"
    assert "run_resumed" in kinds and kinds.count("run_finished") == 2


async def test_model_error_fails_run_with_typed_error(db_path: Path) -> None:
    """A script that runs out ends the run as failed with the error's type and message."""
    result = await agentflow.run(
        react_graph([add]), "x", model=ScriptedModel([calls(call("add", a=1, b=2))]), db=db_path
    )
    assert result.status == "failed" and result.exit_code == 1
    assert result.error is not None and result.error["type"] == "ModelError"
    assert "no decision for turn 2" in result.error["message"]


async def test_run_record_and_trace_in_sqlite(db_path: Path) -> None:
    """The run record holds input, status, output, usage, model, settings and seed; the trace is ordered."""
    model = ScriptedModel([calls(call("add", a=1, b=2)), final("3")], spec="scripted:demo.json")
    result = await agentflow.run(react_graph([add]), {"question": "1+2"}, model=model, db=db_path, seed=7)
    store = RunStore(db_path)
    record = store.get_run(result.run_id)
    assert record.status == "succeeded" and record.output == "3" and record.input == {"question": "1+2"}
    assert record.model == "scripted:demo.json" and record.seed == 7 and record.settings["seed"] == 7
    assert record.usage["steps"] == 2 and record.finished_at is not None
    events = store.events(result.run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.kind for e in events] == [
        "run_started",
        "step_started",
        "model_offer",
        "model_called",
        "tool_called",
        "step_started",
        "model_called",
        "run_finished",
    ]
    offer = next(e.data for e in events if e.kind == "model_offer")  # what the model was offered, once
    assert [t["name"] for t in offer["tools"]] == ["add"] and offer["tools"][0]["parameters"]["required"] == [
        "a",
        "b",
    ]
    assert {e.data["offer"] for e in events if e.kind == "model_called"} == {offer["digest"]}
    decision = events[3].data
    assert decision["raw_text"] and decision["decision"]["tool_calls"][0]["name"] == "add"
    assert decision["messages"][0]["role"] == "system" and decision["messages"][1]["content"].startswith("{")
    second = events[6].data  # only the messages added since the first call, on top of its prefix
    assert second["messages_from"] == 2 and [m["role"] for m in second["messages"]] == ["assistant", "tool"]
    # the assistant turn is stored once (in the first call's event) and referenced from the second
    assert second["messages"][0] == {"role": "assistant", "decision_ref": decision["task"]}
    rebuilt = agentflow.events.full_messages([decision, second])
    assert [len(m) for m in rebuilt] == [2, 4]
    assert (
        rebuilt[1][2]["content"] == decision["raw_text"] and rebuilt[1][2]["tool_calls"][0]["name"] == "add"
    )
    assert decision["latency_s"] >= 0 and decision["input_tokens"] > 0
    tool_event = events[4].data
    assert tool_event["arguments"] == {"a": 1, "b": 2} and tool_event["result"] == 3
    assert store.get_run(result.run_id[:8]).id == result.run_id  # a unique prefix finds the run


async def test_stream_yields_events_then_final(db_path: Path) -> None:
    """`Runner.stream` yields the run's events in order, ending with the final event."""
    model = ScriptedModel([calls(call("add", a=1, b=2)), final("3")])
    async with Runner(db_path) as runner:
        async with runner.stream(react_graph([add]), "x", model=model) as events:
            kinds = [event.kind async for event in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("model_called") == 2 and "tool_called" in kinds


async def test_many_concurrent_runs_in_one_process(db_path: Path) -> None:
    """Twenty runs share one runner concurrently and each gets its own answer."""

    def decide(request: agentflow.ModelRequest) -> dict[str, Any]:
        last = request.messages[-1]
        if last["role"] == "tool":
            return final(last["content"])
        n = int(json.loads(json.dumps(last["content"])))
        return calls(call("add", a=n, b=1000))

    results: dict[int, Any] = {}
    async with Runner(db_path) as runner:
        graph = react_graph([add])

        async def one(n: int) -> None:
            results[n] = await runner.run(graph, str(n), model=FunctionModel(decide))

        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(one, n)
        listed = await runner.storage.list_runs(limit=100)
    assert {n: r.output for n, r in results.items()} == {n: str(n + 1000) for n in range(20)}
    assert len(listed) == 20 and all(r.status == "succeeded" for r in listed)


def test_run_sync_wrapper(db_path: Path) -> None:
    """`run_sync` runs a graph without an event loop and returns the same result object."""
    result = agentflow.run_sync(react_graph([add]), "x", model=ScriptedModel([final("hi")]), db=db_path)
    assert isinstance(result, agentflow.RunResult) and result.output == "hi"
    assert result.to_json()["usage"]["steps"] == 1
