"""The view's data: steps with their tool calls, run-level events, agent statistics and usage over time."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflow.store import RunStore
from agentflow.viewer.data import build_view

from trace_runs import NEEDLE, record_approval, record_plan_execute, record_tool_error

pytestmark = pytest.mark.anyio


def view_of(db: Path, run_id: str):  # type: ignore[no-untyped-def]
    store = RunStore(db)
    record = store.get_run(run_id)
    return build_view(record, store.events(record.id))


async def test_tool_calls_are_grouped_under_the_decision_that_made_them(db_path: Path) -> None:
    """Parallel plan steps interleave in the trace, yet each tool call lands under its own agent's step."""
    view = view_of(db_path, await record_plan_execute(db_path))
    steps = [i for i in view.items if i["type"] == "step"]
    assert [s["model"]["step"] for s in steps] == list(range(1, 10))
    with_tools = {s["agent"]: [t["data"]["tool"] for t in s["tools"]] for s in steps if s["tools"]}
    assert with_tools == {
        "executor:s1": ["convert_units"],
        "executor:s2": ["calculator"],
        "executor:s3": ["calculator"],
    }
    assert all(t["agent"] == s["agent"] for s in steps for t in s["tools"])
    kinds = [
        i["kind"] for i in view.items if i["type"] == "event"
    ]  # (each plan step is a sub-agent invocation)
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert sorted(kinds[1:-1]) == ["subagent_finished"] * 3 + ["subagent_started"] * 3
    assert view.agents["planner"].activations == 2 and view.agents["planner"].model_calls == 2
    assert set(view.colors) == {"planner", "executor:s1", "executor:s2", "executor:s3", "writer"}
    assert view.offers and all("tools" in o for o in view.offers.values())


async def test_usage_over_time_is_cumulative_and_matches_the_record(db_path: Path) -> None:
    """The usage series rises with each call and ends at the run's recorded steps, tokens and tool calls."""
    view = view_of(db_path, await record_tool_error(db_path))
    times = [t for t, _ in view.usage_series]
    assert times == sorted(times) and times[-1] <= view.duration
    last = view.usage_series[-1][1]
    usage = view.record.usage
    assert last["steps"] == usage["steps"] == 3
    assert last["tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert last["tool_calls"] == usage["tool_calls"] == 2
    assert view.agents["agent"].errors == 1
    (failed, ok) = [t for i in view.items if i["type"] == "step" for t in i["tools"]]
    assert failed["data"]["is_error"] and ok["data"]["arguments"] == {"order_id": NEEDLE}


async def test_approvals_and_resumes_are_run_level_items(db_path: Path) -> None:
    """A human's decision and the resume it caused appear in order between the two executions."""
    view = view_of(db_path, await record_approval(db_path))
    kinds = [i["kind"] for i in view.items]
    assert kinds == [
        "run_started",
        "model_called",
        "run_finished",
        "approval_decided",
        "run_resumed",
        "model_called",
        "run_finished",
    ]
    (approval,) = [i for i in view.items if i["kind"] == "approval_decided"]
    assert approval["data"]["decision"]["action"] == "approve" and approval["data"]["tool"] == "refund"
    assert view.items[5]["tools"] == [] and view.items[1]["tools"][0]["data"]["tool"] == "refund"
