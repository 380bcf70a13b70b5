"""examples/review_gate.py: an approval gate and a budget guard in a hand-built StateGraph."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentflow
from agentflow import Budget
from agentflow.approval import Decision, InvalidDecisionError
from agentflow.loader import resolve_graph
from agentflow.testing import ScriptedModel

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "scripted" / "review_gate.json"

pytestmark = pytest.mark.anyio


def graph():
    return resolve_graph(str(REPO / "examples" / "review_gate.py"))[0]


async def test_gate_pauses_and_an_edit_is_validated_then_published(db_path: Path) -> None:
    """The draft waits at the gate (awaiting_approval, the draft as the pending item's arguments); an edit that
    breaks the gate's schema is refused and the run stays paused; a valid edit becomes the output."""
    g, model = graph(), ScriptedModel.from_file(SCRIPT)
    async with agentflow.Runner(db_path) as runner:
        paused = await runner.run(g, "What is 6 * 7?", model=model)
        assert paused.status == "awaiting_approval"
        [item] = paused.pending
        assert item["call_id"] == "gate_publish_answer" and item["arguments"] == {"answer": "42"}
        with pytest.raises(InvalidDecisionError, match="answer"):
            await runner.decide(paused.run_id, [Decision(action="approve", arguments={"answer": ""})], graph=g)
        assert runner.result_of(paused.run_id).status == "awaiting_approval"
        done = await runner.decide(paused.run_id, [Decision(action="approve", arguments={"answer": "6 * 7 = 42."})],
                                   graph=g)
    assert done.ok and done.output == "6 * 7 = 42."


async def test_a_rejection_goes_back_to_the_model(db_path: Path) -> None:
    """Rejected with a note, the agent reads it and drafts again; the second draft is approved as is."""
    g, model = graph(), ScriptedModel.from_file(SCRIPT)
    async with agentflow.Runner(db_path) as runner:
        paused = await runner.run(g, "What is 6 * 7?", model=model)
        again = await runner.decide(paused.run_id, [Decision(action="reject", message="use a full sentence")],
                                    graph=g)
        assert again.status == "awaiting_approval" and again.pending[0]["arguments"] == {"answer": "6 times 7 is 42."}
        done = await runner.decide(paused.run_id, [Decision(action="approve")], graph=g)
    assert done.ok and done.output == "6 times 7 is 42."


async def test_the_budget_guard_stops_the_review_loop(db_path: Path) -> None:
    """With the step budget spent by the first draft, a rejection ends the run at the guard."""
    g, model = graph(), ScriptedModel.from_file(SCRIPT)
    async with agentflow.Runner(db_path) as runner:
        paused = await runner.run(g, "What is 6 * 7?", model=model, budget=Budget(max_steps=2))
        stopped = await runner.decide(paused.run_id, [Decision(action="reject", message="no")], graph=g)
    assert stopped.status == "budget_exhausted" and stopped.budget == "steps"
