"""Crash-safety holes an independent crash test found (issue 21), each reproduced through real processes:
a run killed before its first checkpoint, simultaneous approvals and resumes, budgets across a crash, and a
kill at random instants across the whole run lifecycle — on SQLite and on PostgreSQL (the `h` fixture)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
from typing import Any

import pytest
from crash_harness import Harness, call, final


def test_a_run_killed_before_its_first_checkpoint_resumes_from_its_input(h: Harness) -> None:
    """SIGKILL between the run record and the first checkpoint: `resume` starts the run from its recorded input
    (it used to fail with "Received no input for __start__" and lose the request)."""
    model = h.script(call("pay", amount=3), final("paid 3"))
    killed = h.cli(
        "run", str(h.graph), "-i", "pay 3", "--model", model, "--json", failpoint="after_run_record"
    )
    assert killed.returncode == -signal.SIGKILL and h.count("pay") == 0
    run_id = h.run_id()
    resumed = h.cli("resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded" and result["output"] == "paid 3" and h.count("pay") == 1


def test_simultaneous_approvals_one_wins(h: Harness) -> None:
    """Two `agentflow approve` of one pending call, released together: exactly one continues the run (exit 0),
    the other is refused (exit 2) naming the run's state; the tool ran once and the trace stays consistent."""
    model = h.script(call("deploy", version="v1"), final("deployed"))
    paused = json.loads(h.cli("run", str(h.graph), "-i", "d", "--model", model, "--json").stdout)
    run_id = paused["run_id"]
    procs = [h.start_at_gate("before_decide", "approve", run_id, "--json") for _ in range(2)]
    h.release(procs)
    outcomes = sorted((p.wait(timeout=120), p.communicate()[1]) for p in procs)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert "changed while deciding" in outcomes[1][1] or "another process" in outcomes[1][1]
    assert h.count("deploy") == 1
    kinds = [e["kind"] for e in h.trace(run_id)]
    assert kinds.count("run_resumed") == 1 and kinds.count("run_finished") == 2  # the pause, then the end
    record = json.loads(h.cli("runs", "show", run_id, "--json").stdout)["run"]
    assert (
        record["status"] == "succeeded"
        and record["usage"]["steps"] == 2
        and record["usage"]["tool_calls"] == 1
    )


def test_simultaneous_resumes_of_a_crashed_run_one_wins(h: Harness) -> None:
    """Two `agentflow resume` of a SIGKILLed run, released together after both read it: one finishes it, the
    other is refused with exit 2; a resume after it finished is refused too, leaving usage and trace alone."""
    model = h.script(call("pay", amount=7), final("paid 7"))
    killed = h.cli("run", str(h.graph), "-i", "x", "--model", model, "--json", failpoint="after_tool")
    assert killed.returncode == -signal.SIGKILL and h.count("pay") == 1
    run_id = h.run_id()
    procs = [h.start_at_gate("before_claim", "resume", run_id, "--json") for _ in range(2)]
    h.release(procs)
    outcomes = sorted((p.wait(timeout=120), p.communicate()[1]) for p in procs)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert h.count("pay") == 1
    before = json.loads(h.cli("runs", "show", run_id, "--json").stdout)
    late = h.cli("resume", run_id, "--json")
    assert late.returncode == 2 and "already succeeded" in late.stderr
    after = json.loads(h.cli("runs", "show", run_id, "--json").stdout)
    assert after == before and [e["kind"] for e in after["events"]].count("run_resumed") == 1


@pytest.mark.parametrize("tool", ["pay", "sync"])
def test_budget_spent_before_a_crash_still_counts(h: Harness, tool: str) -> None:
    """With --max-tool-calls 1, a SIGKILL right after the first call leaves that call counted on disk, so the
    resumed run cannot make a second call (it used to: 2 calls under a limit of 1)."""
    model = h.script(
        call(tool, **({"amount": 1} if tool == "pay" else {"value": 1})),
        call(tool, **({"amount": 2} if tool == "pay" else {"value": 2})),
        final("two calls"),
    )
    killed = h.cli(
        "run", str(h.graph), "-i", "x", "--model", model, "--max-tool-calls", "1", failpoint="after_tool"
    )
    assert killed.returncode == -signal.SIGKILL
    run_id = h.run_id()
    stored = json.loads(h.cli("runs", "show", run_id, "--json").stdout)["run"]["usage"]
    if tool == "pay":  # a non-idempotent call's reservation is durable with its `started` mark
        assert stored["tool_calls"] == 1
    resumed = h.cli("resume", run_id, "--json")
    result = json.loads(resumed.stdout)
    assert (
        resumed.returncode == 3
        and result["status"] == "budget_exhausted"
        and result["budget"] == "tool_calls"
    )
    assert result["usage"]["tool_calls"] == 1
    # a non-idempotent call never runs again; an idempotent one runs again only if its queued record was lost
    assert h.count(tool) == 1 if tool == "pay" else h.count(tool) in (1, 2)


def _wait_for_line(proc: subprocess.Popen[str], needle: str) -> bool:
    """Read the process's stderr until a line contains `needle` (True), or it ends first (False)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if needle in line:
            return True
    return False


def _runs(h: Harness) -> list[dict[str, Any]]:
    return json.loads(h.cli("runs", "list", "--limit", "1000", "--json").stdout) if h.has_db() else []


def test_kills_at_random_instants_always_resume_to_the_same_end(h: Harness) -> None:
    """SIGKILL at random instants across the whole lifecycle — during start-up (before the run record), right
    after the run record, inside tools, between steps, around the end — many times: every run that was
    recorded resumes to the answer an uninterrupted run gives, and no non-idempotent call ever runs twice."""
    script = h.script(
        call("pay", amount=1), call("sync", value=1), call("pay", amount=2), final("paid twice")
    )
    args = ["run", str(h.graph), "-i", "pay twice", "--model", script, "--json"]
    tool_seconds = 0.15  # three calls: the run itself lasts about half a second
    rng = random.Random(21)
    recorded = 0
    for attempt in range(10):
        before = h.count("pay")
        runs_before = {r["run_id"] for r in _runs(h)}
        proc = h.start(*args, tool_seconds=tool_seconds)
        if attempt % 3 == 0:  # somewhere in start-up, possibly before the run record exists
            try:
                proc.wait(timeout=rng.uniform(0.2, 4.0))
            except subprocess.TimeoutExpired:
                pass
        elif _wait_for_line(proc, "graph "):  # the run record exists: kill somewhere inside the run
            try:
                proc.wait(timeout=rng.uniform(0.0, 4 * tool_seconds))
            except subprocess.TimeoutExpired:
                pass
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        new = [r for r in _runs(h) if r["run_id"] not in runs_before]
        if not new:  # killed before the run record: nothing happened
            assert h.count("pay") == before, attempt
            continue
        recorded += 1
        [run] = new
        if run["status"] != "succeeded":
            resumed = h.cli("resume", run["run_id"], "--json")
            assert resumed.returncode == 0, (attempt, resumed.stderr)
            run = json.loads(resumed.stdout)
        assert run["output"] == "paid twice", attempt
        assert h.count("pay") - before <= 2, attempt  # each of the two payments at most once
        payments = [
            e["data"]["arguments"]["amount"]
            for e in h.trace(run["run_id"])
            if e["kind"] == "tool_called" and e["data"]["tool"] == "pay"
        ]
        assert sorted(payments) == [1, 2], attempt
    assert recorded >= 6  # the kills inside the run
