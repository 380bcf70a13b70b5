"""Plan-and-execute with scripted models: parallel steps, re-planning, unusable plans, budgets, approvals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

import agentflow
from agentflow import Budget, tool
from agentflow.approval import Decision
from agentflow.patterns.plan_execute import plan_execute_graph
from agentflow.store import RunStore
from agentflow.testing import ScriptedModel

from helpers import Gate, add, call, calls, final

pytestmark = pytest.mark.anyio


def plan(*steps: tuple[str, str, list[str]]) -> dict[str, Any]:
    return final({"steps": [{"id": i, "description": d, "depends_on": deps} for i, d, deps in steps]})


def step_done(result: str) -> dict[str, Any]:
    return final({"status": "done", "result": result})


CONTINUE = final({"action": "continue"})


async def test_independent_steps_run_in_parallel_and_the_writer_answers(db_path: Path) -> None:
    """Two independent steps run at the same time (both are inside their tool before either finishes); the
    dependent third step sees both results; the writer's answer is the output; the trace names each agent."""
    gate = Gate(expected=2)

    @tool(read_only=True)
    async def slow_add(a: int, b: int) -> int:
        """Add slowly."""
        await gate.enter()
        return a + b

    async def release_when_both_in() -> None:
        await gate.all_in.wait()
        gate.release.set()

    model = ScriptedModel(roles={
        "planner": [plan(("s1", "add 1 and 2", []), ("s2", "add 3 and 4", []),
                         ("s3", "add the two results", ["s1", "s2"])), CONTINUE],
        "executor": {"cases": [
            {"when": "Step s1", "decisions": [calls(call("slow_add", a=1, b=2)), step_done("3")]},
            {"when": "Step s2", "decisions": [calls(call("slow_add", a=3, b=4)), step_done("7")]},
            {"when": "Step s3", "decisions": [calls(call("add", a=3, b=7)), step_done("10")]},
        ]},
        "writer": [final("The total is 10.")],
    })
    async with anyio.create_task_group() as tg:
        tg.start_soon(release_when_both_in)
        result = await agentflow.run(plan_execute_graph([slow_add, add]), "sum things", model=model, db=db_path)
    assert result.ok, result.error
    assert result.output == "The total is 10."
    events = RunStore(db_path).events(result.run_id)
    agents = [e.agent for e in events if e.kind == "model_decision"]
    assert set(agents) == {"planner", "executor:s1", "executor:s2", "executor:s3", "writer"}
    s3_prompt = next(e for e in events if e.kind == "model_decision" and e.agent == "executor:s3").data["messages"]
    assert "s1: 3" in s3_prompt[-1]["content"] and "s2: 7" in s3_prompt[-1]["content"]
    # planner: the plan and one revision (none after the last round: nothing left, nothing failed)
    assert result.usage["steps"] == 2 + 3 * 2 + 1


async def test_a_failed_step_triggers_a_replan(db_path: Path) -> None:
    """A step that reports failure goes to the re-planner, whose revised step runs instead."""
    model = ScriptedModel(roles={
        "planner": [plan(("s1", "look it up", [])),
                    final({"action": "revise", "steps": [{"id": "s2", "description": "compute it instead",
                                                          "depends_on": []}]}),
                    CONTINUE],
        "executor": {"cases": [
            {"when": "Step s1", "decisions": [final({"status": "failed", "result": "no such record"})]},
            {"when": "Step s2", "decisions": [calls(call("add", a=2, b=2)), step_done("4")]},
        ]},
        "writer": [final("4")],
    })
    result = await agentflow.run(plan_execute_graph([add]), "what is it?", model=model, db=db_path)
    assert result.ok and result.output == "4"
    events = RunStore(db_path).events(result.run_id)
    replans = [e for e in events if e.kind == "model_decision" and e.agent == "planner"]
    assert "s1 (failed): no such record" in replans[1].data["messages"][-1]["content"]


@pytest.mark.parametrize(("bad", "reason"), [
    (plan(("s1", "a", ["s2"]), ("s2", "b", ["s1"])), "dependency cycle: s1 -> s2 -> s1"),
    (plan(("s1", "a", ["s9"])), "depends on unknown step 's9'"),
    (final({"steps": []}), "the plan has no steps"),
])
async def test_unusable_plans_go_back_to_the_planner(db_path: Path, bad: dict[str, Any], reason: str) -> None:
    """A cycle, an unknown dependency or an empty plan is sent back with the reason; a fixed plan then runs."""
    model = ScriptedModel(roles={
        "planner": [bad, plan(("s1", "add", [])), CONTINUE],
        "executor": [calls(call("add", a=1, b=1)), step_done("2")],
        "writer": [final("2")],
    })
    result = await agentflow.run(plan_execute_graph([add]), "task", model=model, db=db_path)
    assert result.ok and result.output == "2"
    planner_calls = [e for e in RunStore(db_path).events(result.run_id)
                     if e.kind == "model_decision" and e.agent == "planner"]
    assert reason in planner_calls[1].data["messages"][-1]["content"]


async def test_a_planner_that_never_plans_well_fails_with_plan_error(db_path: Path) -> None:
    """After `max_attempts` unusable plans in a row the run fails with a typed PlanError."""
    cyclic = plan(("s1", "a", ["s1"]))
    model = ScriptedModel(roles={"planner": [cyclic, cyclic, cyclic]})
    result = await agentflow.run(plan_execute_graph([add], max_attempts=3), "task", model=model, db=db_path)
    assert result.status == "failed"
    assert result.error["type"] == "PlanError" and "dependency cycle" in result.error["message"]


async def test_budget_stops_the_run_with_the_finished_steps_as_partial(db_path: Path) -> None:
    """Sub-agents draw from the run's step budget: the run stops budget_exhausted, and the partial result
    holds the steps that finished (including one that finished in the round that ran out)."""
    model = ScriptedModel(roles={
        "planner": [plan(("quick", "answer at once", []), ("slow", "loop", []))],
        "executor": {"cases": [
            {"when": "Step quick", "decisions": [step_done("fast result")]},
            {"when": "Step slow", "decisions": [calls(call("add", a=1, b=1))] * 10},
        ]},
    })
    result = await agentflow.run(plan_execute_graph([add], replan="never"), "task", model=model, db=db_path,
                                 budget=Budget(max_steps=4))
    assert result.status == "budget_exhausted" and result.budget == "steps"
    assert result.partial == {"quick": "fast result"}
    assert result.usage["steps"] == 4


async def test_approval_pauses_in_parallel_steps_do_not_collide(db_path: Path) -> None:
    """Two parallel steps each call a tool that needs approval: the run pauses once with both calls pending;
    deciding them (one approved, one rejected) continues both steps to the answer, each call run at most once."""
    executed: list[int] = []

    @tool(destructive=True, approval="always")
    def pay(amount: int) -> str:
        """Pay an amount."""
        executed.append(amount)
        return f"paid {amount}"

    model = ScriptedModel(roles={
        "planner": [plan(("a", "pay 10", []), ("b", "pay 20", [])), CONTINUE],
        "executor": {"cases": [
            {"when": "Step a", "decisions": [calls(call("pay", amount=10)), step_done("paid 10")]},
            {"when": "Step b", "decisions": [calls(call("pay", amount=20)), final({"status": "failed",
                                                                                "result": "refused"})]},
        ]},
        "writer": [final("one payment made")],
    })
    graph = plan_execute_graph([pay])
    async with agentflow.Runner(db_path) as runner:
        paused = await runner.run(graph, "pay both", model=model)
        assert paused.status == "awaiting_approval"
        pending = {p["arguments"]["amount"]: p for p in paused.pending}
        assert set(pending) == {10, 20} and executed == []
        await runner.decide(paused.run_id, [Decision(action="reject", call_id=pending[20]["call_id"],
                                                     message="too much")], graph=graph, model=model)
        done = await runner.decide(paused.run_id, [Decision(action="approve", call_id=pending[10]["call_id"])],
                                   graph=graph, model=model)
    assert done.ok, done.error
    assert done.output == "one payment made" and executed == [10]


async def test_resume_after_a_budget_stop_continues_the_stopped_step(db_path: Path) -> None:
    """Resumed with a larger budget, the stopped step continues where it was: its finished tool calls are
    not run again, the finished step is not redone, and the run completes."""
    runs: list[int] = []

    @tool(read_only=True)
    def count(n: int) -> int:
        """Record a call."""
        runs.append(n)
        return n

    model = ScriptedModel(roles={
        "planner": [plan(("quick", "answer at once", []), ("slow", "three calls", []))],
        "executor": {"cases": [
            {"when": "Step quick", "decisions": [step_done("fast")]},
            {"when": "Step slow", "decisions": [calls(call("count", n=1)), calls(call("count", n=2)),
                                                calls(call("count", n=3)), step_done("counted")]},
        ]},
        "writer": [final("all done")],
    })
    graph = plan_execute_graph([count], replan="never")
    async with agentflow.Runner(db_path) as runner:
        stopped = await runner.run(graph, "task", model=model, budget=Budget(max_steps=4))
        assert stopped.status == "budget_exhausted" and runs == [1, 2]
        done = await runner.resume(stopped.run_id, graph=graph, model=model, budget=Budget(max_steps=20))
    assert done.ok and done.output == "all done"
    assert runs == [1, 2, 3]
    executor_quick = [e for e in RunStore(db_path).events(done.run_id)
                      if e.kind == "model_decision" and e.agent == "executor:quick"]
    assert len(executor_quick) == 1
