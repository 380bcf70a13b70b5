"""The storage protocol's conformance suite: every backend (tests/store/conftest.py) passes the same tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from agentflow.approval import HumanDecision, PendingCall
from agentflow.events import RunFinished, RunStarted, StepStarted, ToolCalled
from agentflow.exceptions import LeaseLostError, RunBusyError, UnknownRunError
from agentflow.status import RunStatus
from agentflow.store.base import Lease, NewRun, RunRecord

pytestmark = pytest.mark.anyio

ME, OTHER = "host-a:1:1", "host-b:2:2"  # owners on other hosts: only lease expiry decides if they are alive


def new_run(run_id: str = "run1", **fields: Any) -> NewRun:
    return NewRun(
        run_id=run_id,
        graph="react",
        input={"q": "x"},
        model="demo",
        settings={"temperature": 0},
        seed=None,
        budget={"max_steps": 5},
        **fields,
    )


def any_status(record: RunRecord) -> None:
    """A claim that accepts the run in any state."""


async def test_create_get_and_list_runs(storage: Any) -> None:
    """A created run is running, owned by its creator, with its first events; ids resolve by unique prefix."""
    lease = await storage.create_run(
        new_run("abc123", context={"user_id": "u1"}),
        owner=ME,
        events=[RunStarted(run_id="abc123", graph="react", input="x", model=None)],
    )
    assert lease.run_id == "abc123" and lease.token >= 1
    record = await storage.get_run("abc")
    assert record.id == "abc123" and record.status is RunStatus.RUNNING and record.owner == ME
    assert (
        record.input == {"q": "x"}
        and record.context == {"user_id": "u1"}
        and record.budget == {"max_steps": 5}
    )
    await storage.create_run(new_run("abd456"), owner=ME)
    with pytest.raises(UnknownRunError):
        await storage.get_run("ab")  # ambiguous prefix
    with pytest.raises(UnknownRunError):
        await storage.get_run("zzz")
    assert [r.id for r in await storage.list_runs()] == ["abd456", "abc123"]
    assert [r.id for r in await storage.list_runs(status=RunStatus.SUCCEEDED)] == []
    assert [e.kind for e in await storage.events("abc123")] == ["run_started"]


async def test_events_keep_order_and_are_durable_after_flush(storage: Any) -> None:
    """Queued events are numbered in order and visible once flushed; usage is written with them."""
    lease = await storage.create_run(new_run(), owner=ME)
    for step in range(1, 6):
        storage.record(
            lease, [StepStarted(run_id="run1", agent="agent", step=step)], {"steps": step, "wall_s": 0.5}
        )
    await storage.flush(lease)
    events = await storage.events("run1")
    assert [(e.seq, e.data["step"]) for e in events] == [(i, i) for i in range(1, 6)]
    assert (await storage.get_run("run1")).usage == {"steps": 5, "wall_s": 0.5}


async def test_claim_refuses_a_live_lease_and_takes_an_expired_one(make_storage: Callable[..., Any]) -> None:
    """While another owner's lease is live the run cannot be claimed; once expired it can, and the new token
    fences the old owner out."""
    async with make_storage(lease_ttl_s=0.3) as storage:
        old = await storage.create_run(new_run(), owner=OTHER)
        with pytest.raises(RunBusyError, match="another process"):
            await storage.claim("run1", owner=ME, accept=any_status)
        with anyio.fail_after(10):
            while True:  # wait for the state (expiry), not a fixed time
                try:
                    new = await storage.claim("run1", owner=ME, accept=any_status)
                    break
                except RunBusyError:
                    await anyio.sleep(0.05)
        assert new.token > old.token and (await storage.get_run("run1")).owner == ME
        with pytest.raises(LeaseLostError):
            await storage.journal_start(old, "task", "call_1_0", "pay", {"amount": 1})
        with pytest.raises(LeaseLostError):
            await storage.renew(old)
        await storage.journal_start(new, "task", "call_1_0", "pay", {"amount": 1})
        assert [r["call_id"] for r in await storage.journal("run1")] == ["call_1_0"]


async def test_a_renewed_lease_stays_live(make_storage: Callable[..., Any]) -> None:
    """Renewing moves the expiry forward: the run stays the owner's."""
    async with make_storage(lease_ttl_s=60) as storage:
        lease = await storage.create_run(new_run(), owner=OTHER)
        renewed = await storage.renew(lease)
        assert renewed.token == lease.token and renewed.expires_at >= lease.expires_at
        with pytest.raises(RunBusyError):
            await storage.claim("run1", owner=ME, accept=any_status)


async def test_claim_accept_sees_the_run_as_stored(storage: Any) -> None:
    """`accept` is called with the current record and can refuse; a refused claim changes nothing."""
    lease = await storage.create_run(new_run(), owner=ME)
    await storage.finish_run(
        lease,
        status=RunStatus.SUCCEEDED,
        output="done",
        partial=None,
        usage={"steps": 1},
        budget_exhausted=None,
        error=None,
    )
    seen: list[RunStatus] = []

    def refuse(record: RunRecord) -> None:
        seen.append(record.status)
        raise RunBusyError("finished")

    with pytest.raises(RunBusyError, match="finished"):
        await storage.claim("run1", owner=ME, accept=refuse)
    record = await storage.get_run("run1")
    assert seen == [RunStatus.SUCCEEDED] and record.status is RunStatus.SUCCEEDED and record.owner is None


async def test_racing_claims_have_exactly_one_winner(make_storage: Callable[..., Any]) -> None:
    """Many concurrent claims of one stopped run, from two storages on the same database: one wins."""
    async with make_storage() as first, make_storage() as second:
        lease = await first.create_run(new_run(), owner=ME)
        await first.finish_run(
            lease,
            status=RunStatus.CANCELLED,
            output=None,
            partial=None,
            usage={},
            budget_exhausted=None,
            error=None,
        )
        winners: list[Lease] = []
        refused: list[BaseException] = []

        async def attempt(storage: Any, owner: str) -> None:
            def only_if_stopped(record: RunRecord) -> None:
                if record.status is not RunStatus.CANCELLED:
                    raise RunBusyError(f"run is {record.status} now")

            try:
                winners.append(await storage.claim("run1", owner=owner, accept=only_if_stopped))
            except RunBusyError as exc:
                refused.append(exc)

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(attempt, first if i % 2 else second, f"host-{i}:{i}:{i}")
        assert len(winners) == 1 and len(refused) == 19


async def test_finish_releases_the_lease_and_records_the_end(storage: Any) -> None:
    """Finishing records status, output, usage, pending calls and the final event, and frees the run."""
    lease = await storage.create_run(new_run(), owner=ME)
    pending = [PendingCall(run_id="run1", call_id="call_1_0", tool="pay", arguments={"amount": 5})]
    final = RunFinished(run_id="run1", status=RunStatus.AWAITING_APPROVAL, output=None, usage={"steps": 1})
    await storage.finish_run(
        lease,
        status=RunStatus.AWAITING_APPROVAL,
        output=None,
        partial="p",
        usage={"steps": 1, "cost_usd": 0.25},
        budget_exhausted=None,
        error=None,
        pending=pending,
        events=[final],
    )
    record = await storage.get_run("run1")
    assert record.status is RunStatus.AWAITING_APPROVAL and record.owner is None and record.partial == "p"
    assert record.usage == {"steps": 1, "cost_usd": 0.25} and record.cost_usd == 0.25
    assert record.pending == pending
    assert [e.kind for e in await storage.events("run1")] == ["run_finished"]
    with pytest.raises(LeaseLostError):  # the lease ended with the run: a claim would be needed
        other = await storage.claim("run1", owner=ME, accept=any_status)
        await storage.renew(lease)
    await storage.renew(other)


async def test_update_pending_is_compare_and_set(storage: Any) -> None:
    """Decisions are stored only if the pending calls are still what the decider saw."""
    lease = await storage.create_run(new_run(), owner=ME)
    call = PendingCall(run_id="run1", call_id="call_1_0", tool="pay", arguments={"amount": 5})
    await storage.finish_run(
        lease,
        status=RunStatus.AWAITING_APPROVAL,
        output=None,
        partial=None,
        usage={},
        budget_exhausted=None,
        error=None,
        pending=[call],
    )
    decided = PendingCall(
        run_id="run1",
        call_id="call_1_0",
        tool="pay",
        arguments={"amount": 5},
        decision=HumanDecision(action="approve", call_id="call_1_0"),
    )
    await storage.update_pending("run1", [call], [decided])
    assert (await storage.get_run("run1")).pending == [decided]
    with pytest.raises(RunBusyError, match="changed while deciding"):
        await storage.update_pending("run1", [call], [decided])


async def test_journal_marks_are_durable_with_usage(storage: Any) -> None:
    """A started mark carries the run's usage in the same write; finishing records the outcome and event."""
    lease = await storage.create_run(new_run(), owner=ME)
    await storage.journal_start(lease, "t1", "call_1_0", "pay", {"amount": 1}, {"steps": 1, "tool_calls": 1})
    assert (await storage.get_run("run1")).usage == {"steps": 1, "tool_calls": 1}
    event = ToolCalled(
        run_id="run1",
        step=1,
        call_id="call_1_0",
        tool="pay",
        arguments={"amount": 1},
        content="ok",
        is_error=False,
        error_type=None,
        result="ok",
        attempts=1,
        latency_s=0.1,
        decision="t1",
    )
    await storage.journal_finish(lease, "t1", "call_1_0", {"content": "ok"}, [event])
    [row] = await storage.journal("run1")
    assert (row["task"], row["status"], row["outcome"], row["arguments"]) == (
        "t1",
        "finished",
        {"content": "ok"},
        {"amount": 1},
    )
    assert [e.kind for e in await storage.events("run1")] == ["tool_called"]


async def test_prune_deletes_old_finished_runs_and_leaves_no_orphans(storage: Any) -> None:
    """Prune removes runs older than the cutoff with their events, journal rows and checkpoints; running runs,
    paused runs and (with keep_failed) failed runs stay; a dry run deletes nothing."""
    from langgraph.graph import START, StateGraph

    graph = StateGraph(dict)
    graph.add_node("n", lambda s: {"x": 1})
    graph.add_edge(START, "n")
    compiled = graph.compile(checkpointer=storage.checkpointer)
    statuses = {
        "ok": RunStatus.SUCCEEDED,
        "bad": RunStatus.FAILED,
        "paused": RunStatus.AWAITING_APPROVAL,
        "live": None,
    }
    for run_id, status in statuses.items():
        lease = await storage.create_run(
            new_run(run_id), owner=ME, events=[StepStarted(run_id=run_id, step=1)]
        )
        await storage.journal_start(lease, "t", "c", "pay", {})
        await compiled.ainvoke({"x": 0}, {"configurable": {"thread_id": run_id}})
        if status is not None:
            await storage.finish_run(
                lease, status=status, output=None, partial=None, usage={}, budget_exhausted=None, error=None
            )
    future = datetime.now(UTC) + timedelta(days=1)
    dry = await storage.prune(older_than=future, dry_run=True)
    assert sorted(dry.runs) == ["bad", "ok"] and dry.events == 2 and dry.checkpoints > 0
    assert len(await storage.list_runs()) == 4
    past = await storage.prune(older_than=datetime.now(UTC) - timedelta(days=1))
    assert past.runs == []
    report = await storage.prune(older_than=future, keep_failed=True)
    assert report.runs == ["ok"]
    assert sorted(r.id for r in await storage.list_runs()) == ["bad", "live", "paused"]
    with pytest.raises(UnknownRunError):
        await storage.get_run("ok")
    assert await storage.events("ok") == [] and await storage.journal("ok") == []
    assert [c async for c in storage.checkpointer.alist({"configurable": {"thread_id": "ok"}})] == []
    assert [c async for c in storage.checkpointer.alist({"configurable": {"thread_id": "bad"}})] != []


async def test_compact_keeps_only_the_last_checkpoint(storage: Any) -> None:
    """Compacting a finished run leaves its newest checkpoint (the final state) and nothing else."""
    from langgraph.graph import START, StateGraph

    graph = StateGraph(dict)
    graph.add_node("a", lambda s: {"x": 1})
    graph.add_node("b", lambda s: {"x": 2})
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    compiled = graph.compile(checkpointer=storage.checkpointer)
    lease = await storage.create_run(new_run(), owner=ME)
    config = {"configurable": {"thread_id": "run1"}}
    await compiled.ainvoke({"x": 0}, config)
    before = [c async for c in storage.checkpointer.alist(config)]
    with pytest.raises(RunBusyError, match="running"):
        await storage.compact("run1")
    await storage.finish_run(
        lease, status=RunStatus.SUCCEEDED, output=2, partial=None, usage={}, budget_exhausted=None, error=None
    )
    deleted = await storage.compact("run1")
    after = [c async for c in storage.checkpointer.alist(config)]
    assert deleted == len(before) - 1 and len(after) == 1
    assert (
        after[0].config["configurable"]["checkpoint_id"] == before[0].config["configurable"]["checkpoint_id"]
    )
    assert (await compiled.aget_state(config)).values == {"x": 2}


async def test_document_store(storage: Any) -> None:
    """Namespaced items: put / get / search (full text, filters, namespace prefixes) / delete / namespaces."""
    store = storage.store
    await store.aput(("users", "u1"), "a", {"text": "likes green tea", "kind": "pref"})
    await store.aput(("users", "u1"), "b", {"text": "allergic to peanuts", "kind": "health"})
    await store.aput(("users", "u2"), "a", {"text": "likes black coffee", "kind": "pref"})
    item = await store.aget(("users", "u1"), "a")
    assert item is not None and item.value["text"] == "likes green tea" and item.namespace == ("users", "u1")
    hits = await store.asearch(("users", "u1"), query="tea")
    assert [h.key for h in hits] == ["a"] and hits[0].score is not None
    assert [h.value["text"] for h in await store.asearch(("users",), query="likes")] != []
    assert {h.namespace for h in await store.asearch(("users",), filter={"kind": "pref"})} == {
        ("users", "u1"),
        ("users", "u2"),
    }
    assert await store.asearch(("users", "u2"), query="peanuts") == []
    assert sorted(await store.alist_namespaces(prefix=("users",))) == [("users", "u1"), ("users", "u2")]
    await store.adelete(("users", "u1"), "a")
    assert await store.aget(("users", "u1"), "a") is None
    assert await store.asearch(("users", "u1"), query="tea") == []
