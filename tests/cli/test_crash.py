"""Crash safety with real processes: SIGKILL before, during and after tool calls and during an approval
pause; concurrent resume; two processes on one database. Side effects are counted in files."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys

import pytest
from crash_harness import Harness, call, final


def test_kill_during_non_idempotent_call_never_runs_it_twice(h: Harness) -> None:
    """SIGKILL mid-`pay`: resume does not pay again; the model is told the outcome is unknown."""
    model = h.script(call("pay", amount=5), final("done"))
    proc = h.start("run", str(h.graph), "-i", "pay 5", "--model", model, "--json", block="pay")
    h.kill_inside_tool(proc)
    run_id = h.run_id()
    resumed = h.cli("resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["output"] == "done"
    assert h.count("pay") == 1
    events = h.trace(run_id)
    resume = next(e for e in events if e["kind"] == "run_resumed")
    assert resume["data"]["crashed"] is True and resume["data"]["previous_status"] == "running"
    observation = next(e["data"] for e in events if e["kind"] == "tool_called")
    assert observation["error_type"] == "unknown_outcome" and "not run again" in observation["content"]


def test_kill_during_idempotent_call_reruns_it_with_same_answer(h: Harness) -> None:
    """SIGKILL mid-`sync` (idempotent): resume runs it again and ends as an uninterrupted run would."""
    model = h.script(call("sync", value=1), final("synced"))
    proc = h.start("run", str(h.graph), "-i", "sync", "--model", model, block="sync")
    h.kill_inside_tool(proc)
    run_id = h.run_id()
    resumed = h.cli("resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    uninterrupted = json.loads(h.cli("run", str(h.graph), "-i", "sync", "--model", model, "--json").stdout)
    assert result["output"] == uninterrupted["output"] == "synced"
    assert h.count("sync") == 3  # killed attempt + resumed attempt + the uninterrupted run
    assert result["usage"]["wall_s"] > 0 and result["usage"]["steps"] >= 1


def test_kill_between_calls_neither_repeats_nor_loses(h: Harness) -> None:
    """SIGKILL after `pay(5)` finished and before `pay(6)` started: each pays exactly once in the end."""
    model = h.script(call("pay", amount=5), call("sync", value=1), call("pay", amount=6), final("ok"))
    proc = h.start("run", str(h.graph), "-i", "x", "--model", model, block="sync")
    h.kill_inside_tool(proc)
    assert h.count("pay") == 1
    resumed = h.cli("resume", h.run_id(), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert h.count("pay") == 2 and h.count("sync") == 2
    journal_payments = [
        e["data"]["arguments"]
        for e in h.trace(h.run_id())
        if e["kind"] == "tool_called" and e["data"]["tool"] == "pay"
    ]
    assert journal_payments == [{"amount": 5}, {"amount": 6}]


def test_concurrent_resume_one_proceeds_other_refused(h: Harness) -> None:
    """Two processes resuming the same crashed run: the second gets a clear error while the first works."""
    model = h.script(call("sync", value=1), final("synced"))
    h.kill_inside_tool(h.start("run", str(h.graph), "-i", "x", "--model", model, block="sync"))
    run_id = h.run_id()
    first = h.start("resume", run_id, "--json", block="sync")
    with open(h.gate, "w") as gate:  # the first resume is now inside the tool, owning the run
        second = h.cli("resume", run_id, "--json")
        gate.write("go")
    out, err = first.communicate(timeout=120)
    assert second.returncode == 2 and "another process" in second.stderr
    assert first.returncode == 0, err
    assert json.loads(out)["output"] == "synced" and h.count("sync") == 2  # idempotent: re-run after the kill


def _read_until(fd: int, needle: bytes, limit: float = 120) -> bytes:
    seen = b""
    while needle not in seen:
        ready, _, _ = select.select([fd], [], [], limit)
        if not ready:
            raise AssertionError(f"no {needle!r} in {seen[-500:]!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_kill_during_interactive_approval_then_approve_elsewhere(h: Harness) -> None:
    """SIGKILL while the terminal prompt waits: the pause is persisted; `approve` in another process deploys once."""
    model = h.script(call("deploy", version="v2"), final("deployed v2"))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentflow", "run", str(h.graph), "-i", "deploy", "--model", model],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=h.env(),
        close_fds=True,
    )
    os.close(follower)
    try:
        output = _read_until(leader, b"[a]pprove")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        os.close(leader)
    assert b"deploy" in output and h.count("deploy") == 0
    run_id = h.run_id()
    pending = json.loads(h.cli("pending", run_id, "--json").stdout)
    assert [(p["tool"], p["arguments"]) for p in pending] == [("deploy", {"version": "v2"})]
    approved = h.cli("approve", run_id, "--json")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["output"] == "deployed v2" and h.count("deploy") == 1


def test_non_interactive_pause_exits_4_and_decisions_continue(h: Harness) -> None:
    """Without a terminal the run exits 4 with the pending calls; reject, then a final answer."""
    model = h.script(call("deploy", version="v3"), final("not deployed"))
    paused = h.cli("run", str(h.graph), "-i", "deploy", "--model", model, "--json")
    assert paused.returncode == 4
    result = json.loads(paused.stdout)
    assert result["status"] == "awaiting_approval" and result["pending"][0]["tool"] == "deploy"
    bad = h.cli("approve", result["run_id"], "--edit", '{"version": 3}')
    assert bad.returncode == 2 and "argument 'version'" in bad.stderr
    done = h.cli("reject", result["run_id"], "--message", "freeze week", "--json")
    assert done.returncode == 0, done.stderr
    assert h.count("deploy") == 0
    observation = next(e["data"] for e in h.trace(result["run_id"]) if e["kind"] == "tool_called")
    assert observation["content"] == "rejected by a human: freeze week" and observation["by_human"] is True


def test_two_processes_share_one_database(h: Harness) -> None:
    """A long run writing steadily while another process lists, inspects and decides: nothing is locked."""
    paused = json.loads(
        h.cli(
            "run",
            str(h.graph),
            "-i",
            "d",
            "--model",
            h.script(call("deploy", version="v1"), final("ok")),
            "--json",
        ).stdout
    )
    busy = h.script(*[call("sync", value=i) for i in range(150)], final("finished"))
    # the writer stops inside its last call, so it is certainly still running (and owning its run) while the
    # other processes list, inspect and decide; it is released afterwards
    writer = h.start(
        "run",
        str(h.graph),
        "-i",
        "loop",
        "--model",
        busy,
        "--max-steps",
        "200",
        "--max-tool-calls",
        "200",
        "--max-tokens",
        "10000000",
        "--json",
        block="sync",
        block_at=149,
    )
    outputs = []
    for _ in range(5):
        outputs.append(h.cli("runs", "list", "--json"))
        outputs.append(h.cli("pending", "--json"))
    outputs.append(h.cli("approve", paused["run_id"], "--json"))
    assert writer.poll() is None
    with open(h.gate, "w") as gate:
        gate.write("go")
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert json.loads(out)["output"] == "finished"
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
        assert "locked" not in proc.stderr
    assert json.loads(outputs[-1].stdout)["output"] == "ok"


@pytest.mark.parametrize("point", ["after_decision", "after_tool"])
def test_kill_before_and_after_a_tool_call(h: Harness, point: str) -> None:
    """SIGKILL right after the decision (nothing ran yet) or right after the call finished (before the step's
    checkpoint): resume runs the non-idempotent call exactly once in all and ends with the same answer as an
    uninterrupted run."""
    tool = "pay"
    model = h.script(call(tool, amount=9), final("done 9"))
    killed = h.cli("run", str(h.graph), "-i", "x", "--model", model, "--json", failpoint=point)
    assert killed.returncode == -signal.SIGKILL
    assert h.count(tool) == (1 if point == "after_tool" else 0)
    run_id = h.run_id()
    resumed = h.cli("resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["output"] == "done 9"
    assert h.count(tool) == 1
    kinds = [e["kind"] for e in h.trace(run_id)]
    assert "run_resumed" in kinds and kinds[-1] == "run_finished"


def test_kill_during_an_approved_call_asks_the_human_about_the_unknown_outcome(h: Harness) -> None:
    """Approved, the non-idempotent call is killed mid-way: resume does not run it again but pauses with the
    call marked outcome-unknown; the human rejects the re-run and the model hears why; it ran once."""
    model = h.script(call("deploy", version="v9"), final("checked"))
    paused = h.cli("run", str(h.graph), "-i", "deploy", "--model", model, "--json")
    run_id = json.loads(paused.stdout)["run_id"]
    h.kill_inside_tool(h.start("approve", run_id, "--json", block="deploy"))
    assert h.count("deploy") == 1
    again = h.cli("resume", run_id, "--json")
    assert again.returncode == 4, again.stderr
    [pending] = json.loads(again.stdout)["pending"]
    assert pending["tool"] == "deploy" and pending["unknown_outcome"] is True
    done = h.cli("reject", run_id, "--message", "it may have deployed; check by hand", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == "checked" and h.count("deploy") == 1


def test_answer_history_and_fork_through_the_cli(h: Harness) -> None:
    """`answer --call --result` stands in for a paused call; `runs history` numbers the checkpoints;
    `runs fork --at N --set` starts a linked run whose state was edited (here: the tool's observation)."""
    model = h.script(call("deploy", version="v1"), final("finished"))
    paused = json.loads(h.cli("run", str(h.graph), "-i", "deploy", "--model", model, "--json").stdout)
    call_id = paused["pending"][0]["call_id"]
    answered = h.cli(
        "answer", paused["run_id"], "--call", call_id, "--result", '{"status": "staged"}', "--json"
    )
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["output"] == "finished" and h.count("deploy") == 0
    history = json.loads(h.cli("runs", "history", paused["run_id"], "--json", "--values").stdout)
    assert [c["number"] for c in history] == list(range(len(history)))
    after_tools = next(c for c in history if c["after"] == "tools")
    index = len(after_tools["values"]["messages"]) - 1
    assert json.loads(after_tools["values"]["messages"][index]["content"]) == {"status": "staged"}
    fork = h.cli(
        "runs",
        "fork",
        paused["run_id"],
        "--at",
        str(after_tools["number"]),
        "--set",
        json.dumps({f"/messages/{index}/content": "failed"}),
        "--json",
    )
    assert fork.returncode == 0, fork.stderr
    forked = json.loads(fork.stdout)
    assert forked["run_id"] != paused["run_id"] and forked["status"] == "succeeded"
    runs = {r["run_id"]: r for r in json.loads(h.cli("runs", "list", "--json").stdout)}
    assert runs[forked["run_id"]]["parent_id"] == paused["run_id"]
