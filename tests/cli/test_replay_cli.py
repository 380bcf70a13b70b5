"""`agentflow replay` and `runs diff` through the CLI, on a run that crashed (SIGKILL) and was resumed."""

from __future__ import annotations

import json
import signal

from crash_harness import Harness, call, final


def test_a_crashed_and_resumed_run_replays_without_running_anything(h: Harness) -> None:
    """SIGKILL after a payment, resume, then replay: the replay matches, pays nothing, and `--json` says so."""
    model = h.script(call("pay", amount=7), call("sync", value=2), final("paid 7"))
    killed = h.cli("run", str(h.graph), "-i", "pay 7", "--model", model, "--json", failpoint="after_tool")
    assert killed.returncode == -signal.SIGKILL
    run_id = h.run_id()
    assert h.cli("resume", run_id, "--json").returncode == 0
    paid, synced = h.count("pay"), h.count("sync")
    proc = h.cli("replay", run_id, "--json")
    assert proc.returncode == 0, proc.stderr
    replay = json.loads(proc.stdout)
    assert replay["diverged"] is None and replay["original"] == run_id and replay["output"] == "paid 7"
    assert replay["tool_results_replayed"] == 2 and (h.count("pay"), h.count("sync")) == (paid, synced)
    same = h.cli("runs", "diff", run_id, replay["run_id"], "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["identical"] is True


def test_a_changed_graph_file_diverges_and_exits_1(h: Harness) -> None:
    """Replaying after the graph file changed (a tool's schema) prints the divergence and exits 1."""
    model = h.script(call("pay", amount=7), final("paid 7"))
    assert h.cli("run", str(h.graph), "-i", "pay 7", "--model", model).returncode == 0
    run_id = h.run_id()
    h.graph.write_text(
        h.graph.read_text().replace("def pay(amount: int)", "def pay(amount: int, note: str = '')")
    )
    proc = h.cli("replay", run_id)
    assert proc.returncode == 1
    assert "diverged (offer)" in proc.stderr and "'pay' changed" in proc.stderr and h.count("pay") == 1
