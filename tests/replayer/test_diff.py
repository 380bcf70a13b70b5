"""`runs diff`: two runs aligned per agent and step; one changed argument, an inserted step, run fields."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentflow
from agentflow import Runner, react_graph, tool
from agentflow.replayer.diff import diff_runs
from agentflow.testing import ScriptedModel

from helpers import call, calls, final

pytestmark = pytest.mark.anyio


@tool
def convert(value: float, unit: str) -> str:
    """Convert a value."""
    return f"{value} {unit}"


async def _diff(db: Path, a: str, b: str) -> object:
    async with Runner(db) as runner:
        ra, rb = await runner.storage.get_run(a), await runner.storage.get_run(b)
        return diff_runs(ra, await runner.storage.events(a), rb, await runner.storage.events(b))


async def _run(db: Path, *decisions: dict) -> str:
    result = await agentflow.run(
        react_graph([convert]), "convert", model=ScriptedModel(list(decisions)), db=db
    )
    return result.run_id


async def test_one_changed_argument_is_the_difference(db_path: Path) -> None:
    """Two runs that differ in one tool argument: that argument, its observation and the answer differ."""
    a = await _run(db_path, calls(call("convert", value=5, unit="km")), final("5 km"))
    b = await _run(db_path, calls(call("convert", value=5, unit="mi")), final("5 km"))
    diff = await _diff(db_path, a, b)
    (step,) = diff.steps
    fields = {c["field"]: (c["a"], c["b"]) for c in step.changes}
    assert step.agent == "agent" and (step.step_a, step.step_b) == (1, 1)
    assert fields["convert.unit"] == ("km", "mi") and fields["convert observation"] == ("5.0 km", "5.0 mi")
    assert "convert.value" not in fields and diff.same_steps == 1 and diff.run == []


async def test_an_inserted_step_does_not_shift_the_rest(db_path: Path) -> None:
    """B makes one extra call first: it shows as only in B, and the later steps still pair up unchanged."""
    a = await _run(db_path, calls(call("convert", value=5, unit="km")), final("done"))
    b = await _run(
        db_path,
        calls(call("convert", value=1, unit="g")),
        calls(call("convert", value=5, unit="km")),
        final("done"),
    )
    diff = await _diff(db_path, a, b)
    assert [(s.only_in, s.step_a, s.step_b) for s in diff.steps] == [
        ("b", None, 1),
        (None, 1, 2),
        (None, 2, 3),
    ]
    for paired in diff.steps[1:]:  # the same decisions, on a longer conversation
        assert {c["field"] for c in paired.changes} <= {"input tokens", "latency_s"}
    assert {c["field"] for c in diff.run} == {
        "usage.steps",
        "usage.tool_calls",
        "usage.input_tokens",
        "usage.output_tokens",
    }


async def test_identical_runs_have_no_difference(db_path: Path) -> None:
    """The same script twice: identical."""
    script = (calls(call("convert", value=5, unit="km")), final("5 km"))
    diff = await _diff(db_path, await _run(db_path, *script), await _run(db_path, *script))
    assert diff.identical and diff.as_dict()["identical"] is True
