"""Recorded runs for the trace viewer and OpenTelemetry tests: real graphs through the real Runner and SQLite
trace, with scripted models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

import agentflow
from agentflow import HumanDecision, Runner, react_graph, tool
from agentflow.testing import ScriptedModel

from helpers import call, calls, final

REPO = Path(__file__).resolve().parents[1]
PLAN_SCRIPT = f"scripted:{REPO / 'examples' / 'scripted' / 'plan_execute.json'}"
NEEDLE = "needle-4711"  # an argument only one tool call carries
SECRET = "s3cr3t-payload"  # a value that appears in messages, arguments and observations


@tool(read_only=True)
def lookup_order(order_id: Annotated[str, Field(max_length=12)]) -> dict[str, Any]:
    """Look an order up."""
    return {"order": order_id, "ships": "Friday", "note": SECRET}


@tool(approval="always")
def refund(order_id: str, amount: int) -> str:
    """Refund an order (a human approves)."""
    return f"refunded {amount} on {order_id}"


async def record_plan_execute(db: Path) -> str:
    """The bundled plan-and-execute graph: a planner, three executor sub-agents (two in parallel), a writer."""
    result = await agentflow.run(
        "plan_execute", "Convert 5 km to miles and add 17 * 23", model=PLAN_SCRIPT, db=db
    )
    assert result.status == "succeeded", result
    return result.run_id


async def record_tool_error(db: Path) -> str:
    """A ReAct run whose first tool call fails (an argument too long), then succeeds with the needle."""
    model = ScriptedModel(
        [
            calls(call("lookup_order", order_id="A-1234567890123"), reasoning="look it up"),
            calls(call("lookup_order", order_id=NEEDLE), reasoning="the id was too long; use the short one"),
            final(f"Order {NEEDLE} ships Friday.", reasoning="done"),
        ]
    )
    graph = react_graph([lookup_order], system_prompt="You look orders up.")
    result = await agentflow.run(graph, f"When does {NEEDLE} ship? ({SECRET})", model=model, db=db)
    assert result.status == "succeeded", result
    return result.run_id


def refund_graph() -> Any:
    return react_graph([refund])


def refund_model() -> ScriptedModel:
    return ScriptedModel([calls(call("refund", order_id="A-7", amount=30)), final("Refunded.")])


async def record_approval(db: Path) -> str:
    """A run that pauses for a human's approval and finishes once approved: two executions of one run."""
    async with Runner(db) as runner:
        paused = await runner.run(refund_graph(), "Refund A-7", model=refund_model())
        assert paused.status == "awaiting_approval"
        done = await runner.decide(
            paused.run_id, [HumanDecision(action="approve")], graph=refund_graph(), model=refund_model()
        )
    assert done.status == "succeeded"
    return done.run_id
