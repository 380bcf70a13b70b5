"""Threads (agentflow.threads): a run continues its thread's conversation; a second input on a busy thread is
decided by its policy — reject, enqueue, interrupt, rollback — on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

import agentflow
from agentflow.exceptions import ThreadBusyError
from agentflow.status import RunStatus
from agentflow.testing import FunctionModel

pytestmark = pytest.mark.anyio


@agentflow.tool(approval="always")
def deploy(version: str) -> str:
    """Deploy (needs approval)."""
    return f"deployed {version}"


GRAPH = agentflow.react_graph([deploy])


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    return str(tmp_path / "runs.db")


def model() -> tuple[FunctionModel, list[list[str]]]:
    """A model that asks to deploy when told "deploy", else answers with the user turns it was sent."""
    seen: list[list[str]] = []

    def decide(request: agentflow.ModelRequest) -> dict[str, Any]:
        users = [m["content"] for m in request.messages if m["role"] == "user"]
        seen.append(users)
        if users[-1].startswith("deploy") and request.messages[-1]["role"] == "user":
            return {"reasoning": "deploy", "tool_calls": [{"name": "deploy", "arguments": {"version": "v1"}}]}
        return {"reasoning": "answer", "final_answer": " / ".join(users)}

    return FunctionModel(decide), seen


async def test_a_thread_continues_the_conversation(db: str) -> None:
    """The second run of a thread is sent the first run's conversation before its own input."""
    fn, _ = model()
    async with agentflow.Runner(db) as runner:
        first = await runner.run(GRAPH, "hello", model=fn, thread="t")
        second = await runner.run(GRAPH, "again", model=fn, thread="t")
        other = await runner.run(GRAPH, "alone", model=fn, thread="u")
    assert first.output == "hello" and second.output == "hello / again" and other.output == "alone"


async def test_reject_refuses_a_busy_thread(db: str) -> None:
    """While a run of the thread waits for approval, a new input under `reject` is refused, naming that run."""
    fn, _ = model()
    async with agentflow.Runner(db) as runner:
        paused = await runner.run(GRAPH, "deploy v1", model=fn, thread="t")
        assert paused.status is RunStatus.AWAITING_APPROVAL
        with pytest.raises(ThreadBusyError) as refused:
            await runner.run(GRAPH, "status?", model=fn, thread="t")
        assert refused.value.active == paused.run_id
        assert len(await runner.storage.thread_runs("t")) == 1


async def test_enqueue_waits_for_the_busy_run_and_continues_after_it(db: str) -> None:
    """Under `enqueue` the new run waits until the paused run is approved and finished, then continues from
    its whole conversation."""
    fn, _ = model()
    async with agentflow.Runner(db) as runner:
        paused = await runner.run(GRAPH, "deploy v1", model=fn, thread="t")
        results: list[agentflow.RunResult] = []
        async with anyio.create_task_group() as tg:

            async def second() -> None:
                results.append(await runner.run(GRAPH, "then?", model=fn, thread="t", on_busy="enqueue"))

            tg.start_soon(second)
            with anyio.fail_after(60):
                while len(await runner.storage.thread_runs("t")) < 2:
                    await anyio.sleep(0.02)  # waiting for the state: the second run recorded (queued)
            queued = (await runner.storage.thread_runs("t"))[1]
            assert queued.status is RunStatus.QUEUED
            done = await runner.decide(
                paused.run_id, [agentflow.HumanDecision(action="approve")], graph=GRAPH, model=fn
            )
            assert done.status is RunStatus.SUCCEEDED
        [result] = results
    assert result.status is RunStatus.SUCCEEDED and result.output == "deploy v1 / then?"


async def test_interrupt_cancels_the_busy_run_and_keeps_its_conversation(db: str) -> None:
    """Under `interrupt` the paused run is cancelled and the new run continues from its conversation."""
    fn, _ = model()
    async with agentflow.Runner(db) as runner:
        paused = await runner.run(GRAPH, "deploy v1", model=fn, thread="t")
        result = await runner.run(GRAPH, "no, wait", model=fn, thread="t", on_busy="interrupt")
        assert (await runner.result_of(paused.run_id)).status is RunStatus.CANCELLED
    assert result.status is RunStatus.SUCCEEDED and result.output == "deploy v1 / no, wait"


async def test_rollback_forgets_the_busy_run(db: str) -> None:
    """Under `rollback` the paused run is cancelled and the new run continues from the run before it, as if
    the interrupted input had never been sent."""
    fn, _ = model()
    async with agentflow.Runner(db) as runner:
        await runner.run(GRAPH, "hello", model=fn, thread="t")
        paused = await runner.run(GRAPH, "deploy v1", model=fn, thread="t")
        result = await runner.run(GRAPH, "instead", model=fn, thread="t", on_busy="rollback")
        assert (await runner.result_of(paused.run_id)).status is RunStatus.CANCELLED
    assert result.status is RunStatus.SUCCEEDED and result.output == "hello / instead"
