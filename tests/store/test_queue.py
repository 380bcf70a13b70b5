"""The queue part of the storage protocol, on every backend: queued runs, claims by workers (never the same run
twice), expired leases taken over, cancel requests, threads checked atomically."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from agentflow.events import RunFinished, StepStarted
from agentflow.exceptions import LeaseLostError, ThreadBusyError
from agentflow.status import RunStatus
from agentflow.store.base import ACTIVE, NewRun, RunRecord

pytestmark = pytest.mark.anyio

ME, OTHER = "host-a:1:1", "host-b:2:2"


def new_run(run_id: str, thread_id: str | None = None) -> NewRun:
    return NewRun(
        run_id=run_id,
        graph="react",
        input="x",
        model="demo",
        settings={},
        seed=None,
        budget={},
        thread_id=thread_id,
    )


async def test_queued_runs_are_claimed_once_each_by_racing_workers(make_storage: Callable[..., Any]) -> None:
    """30 queued runs, 12 claimers on two storages (two "processes") taking 3 at a time: every run is claimed
    exactly once, oldest first per claimer, and each claim is a live lease."""
    async with make_storage() as first, make_storage() as second:
        for i in range(30):
            record = await first.enqueue(new_run(f"q{i:02}"))
            assert record.status is RunStatus.QUEUED and record.owner is None
        claimed: list[str] = []

        async def worker(storage: Any, owner: str) -> None:
            while True:
                leases = await storage.claim_next(owner=owner, limit=3)
                if not leases:
                    return
                assert [le.run_id for le in leases] == sorted(le.run_id for le in leases)
                assert all(le.record.status is RunStatus.QUEUED for le in leases)
                claimed.extend(le.run_id for le in leases)

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(worker, first if i % 2 else second, f"host-{i}:{i}:{i}")
        assert sorted(claimed) == [f"q{i:02}" for i in range(30)]
        assert {r.status for r in await first.list_runs(limit=100)} == {RunStatus.RUNNING}


async def test_an_expired_queued_run_is_taken_over_and_the_old_lease_fenced(
    make_storage: Callable[..., Any],
) -> None:
    """A worker that stops renewing loses the run: another claims it (as a crashed run) and the first one's
    writes are refused from then on."""
    async with make_storage(lease_ttl_s=0.3) as storage:
        await storage.enqueue(new_run("r1"))
        [old] = await storage.claim_next(owner=OTHER)
        assert await storage.claim_next(owner=ME) == []  # the lease is live
        with anyio.fail_after(10):
            while not (taken := await storage.claim_next(owner=ME)):
                await anyio.sleep(0.05)  # waiting for the state (the expiry), not a fixed time
        [new] = taken
        assert new.token > old.token and new.record.status is RunStatus.RUNNING
        with pytest.raises(LeaseLostError):
            await storage.journal_start(old, "t", "c", "pay", {})
        await storage.journal_start(new, "t", "c", "pay", {})


async def test_a_thread_runs_its_queued_runs_one_after_another(storage: Any) -> None:
    """A queued run waits while an earlier run of its thread is in progress; runs of other threads don't."""
    await storage.enqueue(new_run("a1", "A"))
    await storage.enqueue(new_run("a2", "A"))
    await storage.enqueue(new_run("b1", "B"))
    first = await storage.claim_next(owner=ME, limit=10)
    assert sorted(le.run_id for le in first) == ["a1", "b1"]
    assert await storage.claim_next(owner=ME, limit=10) == []
    lease = next(le for le in first if le.run_id == "a1")
    await storage.finish_run(
        lease,
        status=RunStatus.SUCCEEDED,
        output="ok",
        partial=None,
        usage={},
        budget_exhausted=None,
        error=None,
    )
    assert [le.run_id for le in await storage.claim_next(owner=ME)] == ["a2"]
    assert [r.id for r in await storage.thread_runs("A")] == ["a1", "a2"]


async def test_cancel_requests(storage: Any) -> None:
    """A queued run is cancelled at once (with the given final event); a running one is flagged and its
    holder learns it at the next renewal; a finished one is left alone."""
    await storage.enqueue(new_run("q"))
    final = RunFinished(run_id="q", status=RunStatus.CANCELLED, output=None, usage={})
    record = await storage.request_cancel("q", events=[final])
    assert record.status is RunStatus.CANCELLED
    assert [e.kind for e in await storage.events("q")] == ["run_finished"]
    lease = await storage.create_run(new_run("r"), owner=ME)
    assert not (await storage.renew(lease)).cancel_requested
    flagged = await storage.request_cancel("r")
    assert flagged.status is RunStatus.RUNNING and flagged.cancel_requested
    assert (await storage.renew(lease)).cancel_requested
    await storage.finish_run(
        lease,
        status=RunStatus.CANCELLED,
        output=None,
        partial=None,
        usage={},
        budget_exhausted=None,
        error=None,
    )
    done = await storage.request_cancel("r")
    assert done.status is RunStatus.CANCELLED and not done.cancel_requested


async def test_events_after_a_sequence_number(storage: Any) -> None:
    """`events(run, after=N)` returns only the events numbered above N (what a resumable stream reads)."""
    lease = await storage.create_run(new_run("r"), owner=ME)
    storage.record(lease, [StepStarted(run_id="r", step=i) for i in range(1, 5)])
    await storage.flush(lease)
    assert [e.seq for e in await storage.events("r", after=2)] == [3, 4]


async def test_thread_checks_are_atomic(make_storage: Callable[..., Any]) -> None:
    """20 racing inserts into one thread whose check refuses a busy thread (double-texting: reject): exactly one
    run is created, the others see it and are refused."""
    async with make_storage() as first, make_storage() as second:
        made: list[str] = []
        refused: list[ThreadBusyError] = []

        async def attempt(storage: Any, i: int) -> None:
            def check(runs: list[RunRecord]) -> NewRun:
                active = [r for r in runs if r.status in ACTIVE]
                if active:
                    raise ThreadBusyError("busy", thread_id="T", active=active[0].id)
                return dataclasses.replace(new_run(f"t{i}", "T"), settings={"seen": len(runs)})

            try:
                record = await storage.enqueue(new_run(f"t{i}", "T"), thread=check)
                made.append(record.id)
            except ThreadBusyError as exc:
                refused.append(exc)

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(attempt, first if i % 2 else second, i)
        assert len(made) == 1 and len(refused) == 19 and {e.active for e in refused} == set(made)
        [run] = await first.thread_runs("T")
        assert run.settings == {"seen": 0} and run.thread_id == "T"
