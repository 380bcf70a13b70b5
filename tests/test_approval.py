"""Human approval: pausing on calls that need it, decisions per call, and continuing — across runners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow import Runner, react_graph, tool
from agentflow.approval import HumanDecision, needs_approval
from agentflow.exceptions import InvalidDecisionError
from agentflow.store import RunStore
from agentflow.testing import FunctionModel, ScriptedModel

from helpers import call, calls, final

pytestmark = pytest.mark.anyio

executed: list[tuple[str, dict[str, Any]]] = []


@tool(approval="always")
def transfer(account: str, amount: int) -> str:
    """Move money."""
    executed.append(("transfer", {"account": account, "amount": amount}))
    return f"sent {amount} to {account}"


@tool
def delete_file(path: str) -> str:
    """Delete a file (destructive by default)."""
    executed.append(("delete_file", {"path": path}))
    return "deleted"


@tool(read_only=True)
def balance() -> int:
    """Read the balance."""
    executed.append(("balance", {}))
    return 100


@pytest.fixture(autouse=True)
def _reset() -> None:
    executed.clear()


def echo_observations(request: agentflow.ModelRequest) -> dict[str, Any]:
    if request.messages[-1]["role"] == "tool":
        tools = [m for m in request.messages if m["role"] == "tool"]
        return final(" | ".join(m["content"] for m in tools))
    return calls(
        call("transfer", account="A", amount=5),
        call("transfer", account="B", amount=7),
        call("balance"),
        reasoning="pay both",
    )


def graph(**kw: Any) -> Any:
    return react_graph([transfer, delete_file, balance], **kw)


async def test_pause_lists_pending_calls_and_runs_nothing(db_path: Path) -> None:
    """A call needing approval pauses the run (exit 4) with id, tool, arguments and reasoning; nothing ran."""
    result = await agentflow.run(graph(), "pay", model=FunctionModel(echo_observations), db=db_path)
    assert result.status == "awaiting_approval" and result.exit_code == 4
    assert [(p.call_id, p.tool, p.arguments) for p in result.pending] == [
        ("call_1_0", "transfer", {"account": "A", "amount": 5}),
        ("call_1_1", "transfer", {"account": "B", "amount": 7}),
    ]
    assert all(p.reasoning == "pay both" for p in result.pending)
    assert executed == []
    record = RunStore(db_path).get_run(result.run_id)
    assert record.status == "awaiting_approval" and len(record.pending) == 2


async def test_decisions_per_call_from_another_runner(db_path: Path) -> None:
    """Parallel pending calls are decided one by one (edit one, reject the other) later, by a new runner."""
    first = await agentflow.run(graph(), "pay", model=FunctionModel(echo_observations), db=db_path)
    async with Runner(db_path) as runner:  # "hours later, another process"
        partial = await runner.decide(
            first.run_id,
            [HumanDecision(action="approve", call_id="call_1_0", arguments={"account": "A", "amount": 50})],
            graph=graph(),
            model=FunctionModel(echo_observations),
        )
        assert partial.status == "awaiting_approval" and executed == []
        assert [p.decision for p in partial.pending][1] is None
        done = await runner.decide(
            first.run_id,
            [HumanDecision(action="reject", call_id="call_1_1", message="B is closed")],
            graph=graph(),
            model=FunctionModel(echo_observations),
        )
    assert done.status == "succeeded"
    assert done.output == "sent 50 to A | rejected by a human: B is closed | 100"
    assert sorted(executed) == [
        ("balance", {}),
        ("transfer", {"account": "A", "amount": 50}),
    ]  # ran concurrently


async def test_decisions_are_traced(db_path: Path) -> None:
    """Each human decision is an `approval_decided` event in the trace, with the edited arguments."""
    async with Runner(db_path) as runner:
        paused = await runner.run(graph(), "pay", model=FunctionModel(echo_observations))
        first, second = (p.call_id for p in paused.pending)
        await runner.decide(
            paused.run_id,
            [
                HumanDecision(action="approve", call_id=first, arguments={"account": "A", "amount": 1}),
                HumanDecision(action="reject", call_id=second, message="no"),
            ],
            graph=graph(),
            model=FunctionModel(echo_observations),
        )
    decided = [e.data for e in RunStore(db_path).events(paused.run_id) if e.kind == "approval_decided"]
    assert [(d["call_id"], d["decision"]["action"]) for d in decided] == [
        (first, "approve"),
        (second, "reject"),
    ]
    assert decided[0]["decision"]["arguments"] == {"account": "A", "amount": 1}


async def test_answer_stands_in_for_the_tool(db_path: Path) -> None:
    """An answer becomes the observation and the tool never runs; a decision without call id covers all."""
    first = await agentflow.run(graph(), "pay", model=FunctionModel(echo_observations), db=db_path)
    async with Runner(db_path) as runner:
        await runner.decide(
            first.run_id,
            [HumanDecision(action="answer", call_id="call_1_0", result={"ok": True})],
            graph=graph(),
            model=FunctionModel(echo_observations),
        )
        done = await runner.decide(
            first.run_id,
            [HumanDecision(action="approve")],
            graph=graph(),
            model=FunctionModel(echo_observations),
        )
    assert done.output == '{"ok": true} | sent 7 to B | 100'
    assert sorted(name for name, _ in executed) == ["balance", "transfer"]


async def test_invalid_edit_is_refused_and_run_stays_paused(db_path: Path) -> None:
    """An edit that fails the tool's schema is refused with the reason; the pending calls are unchanged."""
    first = await agentflow.run(graph(), "pay", model=FunctionModel(echo_observations), db=db_path)
    async with Runner(db_path) as runner:
        with pytest.raises(InvalidDecisionError, match="argument 'amount'"):
            await runner.decide(
                first.run_id,
                [
                    HumanDecision(
                        action="approve", call_id="call_1_0", arguments={"account": "A", "amount": "lots"}
                    )
                ],
            )
        with pytest.raises(InvalidDecisionError, match="no pending call 'nope'"):
            await runner.decide(first.run_id, [HumanDecision(action="approve", call_id="nope")])
        with pytest.raises(InvalidDecisionError, match="needs a message"):
            await runner.decide(
                first.run_id, [HumanDecision(action="reject", call_id="call_1_0", message=" ")]
            )
        record = await runner.storage.get_run(first.run_id)
    assert record.status == "awaiting_approval" and all(p.decision is None for p in record.pending)
    assert executed == []


async def test_resume_refuses_a_run_waiting_for_decisions(db_path: Path) -> None:
    """`resume` does not skip a pending approval."""
    first = await agentflow.run(graph(), "pay", model=FunctionModel(echo_observations), db=db_path)
    async with Runner(db_path) as runner:
        with pytest.raises(agentflow.UserError, match="waiting for decisions"):
            await runner.resume(first.run_id, graph=graph(), model=FunctionModel(echo_observations))


async def test_policies() -> None:
    """never / always / destructive / predicate decide which calls wait."""
    assert not needs_approval(delete_file, "never", {})
    assert needs_approval(balance, "always", {})
    assert needs_approval(delete_file, "destructive", {}) and not needs_approval(balance, "destructive", {})
    assert needs_approval(transfer, lambda a: a["amount"] > 10, {"amount": 11})
    assert not needs_approval(transfer, lambda a: a["amount"] > 10, {"amount": 9})


async def test_graph_level_policy_overrides_tools(db_path: Path) -> None:
    """A graph's approval mapping overrides the tools' own policies (here: destructive tools wait, transfer not)."""
    model = ScriptedModel(
        [calls(call("delete_file", path="/x"), call("transfer", account="A", amount=1)), final("ok")]
    )
    result = await agentflow.run(
        graph(approval={"delete_file": "destructive", "transfer": "never"}), "x", model=model, db=db_path
    )
    assert [p.tool for p in result.pending] == ["delete_file"]


async def test_invalid_arguments_never_reach_a_human_and_predicates_see_valid_ones(db_path: Path) -> None:
    """A predicate policy gets validated arguments; a call whose arguments fail the schema is not shown to a
    human (the model gets the validation error); a predicate that raises pauses for a human, not a crash."""

    def big(arguments: dict[str, Any]) -> bool:
        return arguments["amount"] > 10

    def broken(arguments: dict[str, Any]) -> bool:
        raise KeyError("oops")

    model = ScriptedModel(
        [
            calls(
                call("transfer", account="A", amount="lots"),
                call("transfer", account="B", amount=3),
                call("transfer", account="C", amount=30),
            ),
            final("done"),
        ]
    )
    result = await agentflow.run(graph(approval={"transfer": big}), "x", model=model, db=db_path)
    assert result.status == "awaiting_approval"
    assert [p.arguments for p in result.pending] == [{"account": "C", "amount": 30}]
    model = ScriptedModel([calls(call("transfer", account="A", amount=1)), final("done")])
    paused = await agentflow.run(graph(approval={"transfer": broken}), "x", model=model, db=db_path)
    assert paused.status == "awaiting_approval" and paused.pending[0].arguments["amount"] == 1
