"""`agentflow run --otlp URL`: the run's spans go live to a real OTLP/HTTP receiver, nested as the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from otlp_receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "scripted" / "arithmetic.json"


def test_run_with_otlp_sends_spans_live(db_path: Path, receiver: Receiver) -> None:
    """run -> agent -> chat / execute_tool arrive before the command exits; contents stay out by default."""
    proc = subprocess.run(
        [sys.executable, "-m", "agentflow", "run", "react", "-i", "What is 17 * 23 + 4?", "-m", f"scripted:{SCRIPT}",
         "--otlp", receiver.url, "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "AGENTFLOW_DB": str(db_path)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    spans = receiver.spans()
    names = {s.span_id: s.name for s in spans}
    parents = {s.name: names.get(s.parent_span_id, "") for s in spans}
    assert parents["invoke_agent react"] == ""
    assert parents["execute_tool calculator"].startswith("invoke_agent")
    assert sum(1 for s in spans if s.name.startswith("chat ")) == 2
    assert run_id.encode() in b"".join(receiver.bodies)
    assert b"17 * 23 + 4 = 395" not in b"".join(receiver.bodies)  # (message contents are opt-in)
