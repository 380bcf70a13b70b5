"""The examples run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import agentflow
from agentflow.loader import resolve_graph
from agentflow.testing import ScriptedModel

REPO = Path(__file__).resolve().parents[2]


def test_custom_graph_reuses_agentflow_nodes(db_path: Path) -> None:
    """A user's StateGraph with agentflow's model and tool nodes plus its own node runs end to end."""
    graph, _ = resolve_graph(str(REPO / "examples" / "custom_graph.py"))
    model = ScriptedModel([
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]},
        {"final_answer": "42"},
    ])
    result = agentflow.run_sync(graph, "6*7?", model=model, db=db_path)
    assert result.ok and result.output == "42 (checked with 1 tool call(s))"


def test_custom_graph_script_runs(db_path: Path) -> None:
    """The example's __main__ prints the reviewed answer."""
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "custom_graph.py")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "42 (checked with 1 tool call(s))"
