"""Two workers racing for one run never fork its checkpoint chain: every claim bumps the fencing token, and the
checkpoint writes of a worker that lost the run are refused — on every backend, over many racing attempts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from langgraph.graph import START, StateGraph

from agentflow.exceptions import LeaseLostError, RunBusyError
from agentflow.store.base import NewRun, RunRecord

pytestmark = pytest.mark.anyio

STEPS = 12


def chain() -> StateGraph:
    async def step(state: dict[str, Any]) -> dict[str, Any]:
        await anyio.sleep(0)  # let the other worker in
        return {"n": state.get("n", 0) + 1, "path": [*state.get("path", []), state.get("n", 0)]}

    graph = StateGraph(dict)
    for i in range(STEPS):
        graph.add_node(f"s{i}", step)
    graph.add_edge(START, "s0")
    for i in range(STEPS - 1):
        graph.add_edge(f"s{i}", f"s{i + 1}")
    return graph


def any_status(record: RunRecord) -> None:
    """A claim that accepts the run in any state."""


async def test_racing_workers_never_fork_the_checkpoint_chain(make_storage: Callable[..., Any]) -> None:
    """10 runs, each raced by 3 workers (storages of their own) that claim it again and again with leases that
    expire at once: writes of lost leases are refused, and every run's checkpoints form one chain (no parent
    has two children) ending in the right state."""
    lost = 0
    async with (
        make_storage(lease_ttl_s=0) as a,
        make_storage(lease_ttl_s=0) as b,
        make_storage(lease_ttl_s=0) as c,
    ):
        for run in range(10):
            run_id = f"race{run}"
            config = {"configurable": {"thread_id": run_id}}
            lease = await a.create_run(
                NewRun(run_id=run_id, graph="g", input=None, model=None, settings={}, seed=None, budget={}),
                owner="host-a:1:1",
            )
            first = chain().compile(checkpointer=a.checkpointer)
            await first.ainvoke({"n": 0}, config, durability="sync", interrupt_after=["s0"])
            del lease
            finished = anyio.Event()

            async def worker(
                storage: Any, owner: str, run_id: str = run_id, finished: anyio.Event = finished
            ) -> None:
                nonlocal lost
                compiled = chain().compile(checkpointer=storage.checkpointer)
                config = {"configurable": {"thread_id": run_id}}
                while not finished.is_set():
                    try:
                        await storage.claim(run_id, owner=owner, accept=any_status)
                        await compiled.ainvoke(None, config, durability="sync")
                        finished.set()  # this worker took the run to its end
                    except (LeaseLostError, RunBusyError):
                        lost += 1

            async with anyio.create_task_group() as tg:
                for storage, owner in ((a, "host-a:1:1"), (b, "host-b:2:2"), (c, "host-c:3:3")):
                    tg.start_soon(worker, storage, owner)
            checkpoints = [t async for t in a.checkpointer.alist(config)]
            parents = [
                t.parent_config["configurable"]["checkpoint_id"] for t in checkpoints if t.parent_config
            ]
            assert len(parents) == len(set(parents)), f"{run_id}: the checkpoint chain forked"
            ids = {t.config["configurable"]["checkpoint_id"] for t in checkpoints}
            assert set(parents) <= ids and len(checkpoints) - len(parents) == 1  # one root, one line
            final = await chain().compile(checkpointer=a.checkpointer).aget_state(config)
            assert (
                final.values["n"] == STEPS and final.values["path"] == list(range(STEPS)) and not final.next
            )
    assert lost > 0  # the workers did race
