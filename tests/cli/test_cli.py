"""The `agentflow` CLI in a subprocess: exit codes, the --json shape, live view on stderr, runs list/show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARITHMETIC = REPO / "examples" / "scripted" / "arithmetic.json"


def agentflow(
    *args: str, db: Path, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTFLOW_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


def script(tmp_path: Path, decisions: list[dict[str, Any]]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(decisions))
    return f"scripted:{path}"


def test_run_bundled_graph_json(db_path: Path) -> None:
    """`run react --json` succeeds with exit 0 and prints exactly one JSON object with the documented keys."""
    proc = agentflow(
        "run",
        "react",
        "--input",
        "What is 17 * 23 + 4?",
        "--model",
        f"scripted:{ARITHMETIC}",
        "--json",
        db=db_path,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"run_id", "status", "output", "usage", "budget", "error", "partial", "pending"}
    assert result["status"] == "succeeded" and result["output"] == "17 * 23 + 4 = 395"
    assert set(result["usage"]) == {
        "steps",
        "input_tokens",
        "output_tokens",
        "tool_calls",
        "cost_usd",
        "wall_s",
    }
    assert result["usage"]["tool_calls"] == 1 and result["budget"] is None and result["error"] is None
    assert "calculator" in proc.stderr and "395" in proc.stderr  # live view on stderr


def test_run_graph_file_plain_output_and_stdin(db_path: Path) -> None:
    """A graph given by path reads its input from stdin and prints the answer and run id."""
    proc = agentflow(
        "run",
        "graphs/react.py",
        "--input",
        "-",
        "--model",
        f"scripted:{ARITHMETIC}",
        db=db_path,
        stdin="What is 17 * 23 + 4?",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "17 * 23 + 4 = 395"
    assert "run id:" in proc.stderr


def test_budget_exhausted_exit_3(tmp_path: Path, db_path: Path) -> None:
    """A budget stop exits 3 and names the budget in the JSON."""
    model = script(
        tmp_path, [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}] * 5
    )
    proc = agentflow("run", "react", "-i", "loop", "--model", model, "--max-steps", "2", "--json", db=db_path)
    assert proc.returncode == 3, proc.stderr
    result = json.loads(proc.stdout)
    assert (
        result["status"] == "budget_exhausted"
        and result["budget"] == "steps"
        and result["usage"]["steps"] == 2
    )


def test_failed_run_exit_1(tmp_path: Path, db_path: Path) -> None:
    """A model error exits 1 with the error's type and message in the JSON."""
    model = script(tmp_path, [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "2"}}]}])
    proc = agentflow("run", "react", "-i", "x", "--model", model, "--json", db=db_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"]["type"] == "ModelError"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope.py", "-i", "x", "--model", "scripted:x.json"], "graph file not found"),
        (["run", "react", "-i", "x", "--model", "llama:x"], "unknown model backend"),
        (["run", "react", "-i", "x", "--model", "vllm:/m"], "does not exist"),
        (["run", "react", "-i", "  ", "--model", f"scripted:{ARITHMETIC}"], "input is empty"),
        (
            ["run", "react", "-i", "x", "--max-steps", "-1", "--model", "scripted:x.json"],
            "'--max-steps'",
        ),
        (["runs", "show", "deadbeef"], "no run 'deadbeef'"),
    ],
)
def test_bad_input_exit_2(db_path: Path, args: list[str], message: str) -> None:
    """Bad graph, bad model spec, bad option or unknown run: exit 2 and a one-line error, no traceback."""
    agentflow("runs", "list", db=db_path)  # the database exists for `runs show`
    if args[0] == "runs":
        agentflow(
            "run", "react", "-i", "What is 17 * 23 + 4?", "--model", f"scripted:{ARITHMETIC}", db=db_path
        )
    proc = agentflow(*args, db=db_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_usage_errors_with_json_print_one_json_object(db_path: Path) -> None:
    """With --json a usage error still prints exactly one JSON object on stdout (no run id, the error typed)."""
    proc = agentflow("run", "nope.py", "-i", "x", "--model", "scripted:x.json", "--json", db=db_path)
    assert proc.returncode == 2
    result = json.loads(proc.stdout)
    assert result["run_id"] is None and result["error"]["type"] == "GraphLoadError"
    assert "graph file not found" in result["error"]["message"]


def test_runs_list_and_show(db_path: Path) -> None:
    """Runs are listed newest first and shown with their trace."""
    first = json.loads(
        agentflow(
            "run",
            "react",
            "-i",
            "What is 17 * 23 + 4?",
            "--model",
            f"scripted:{ARITHMETIC}",
            "--json",
            db=db_path,
        ).stdout
    )
    listed = json.loads(agentflow("runs", "list", "--json", db=db_path).stdout)
    assert [r["run_id"] for r in listed] == [first["run_id"]] and listed[0]["graph"] == "react"
    shown = json.loads(agentflow("runs", "show", first["run_id"], "--json", db=db_path).stdout)
    assert shown["run"]["status"] == "succeeded"
    assert [e["kind"] for e in shown["events"]][-1] == "run_finished"
    text = agentflow("runs", "show", first["run_id"][:6], db=db_path)
    assert text.returncode == 0 and "tool_called" in text.stdout and "calculator" in text.stdout
    table = agentflow("runs", "list", db=db_path)
    assert first["run_id"] in table.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_cancels_and_resume_finishes(tmp_path: Path, db_path: Path, signum: int) -> None:
    """SIGTERM or SIGINT (Ctrl-C) during a run ends it as cancelled (exit 130); `resume` completes it."""
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    graph = tmp_path / "g.py"
    graph.write_text(f"""
import agentflow

@agentflow.tool(timeout_s=None, idempotent=True)
def wait_gate() -> str:
    '''Blocks until the test writes to the gate; idempotent, so the resumed run calls it again.'''
    with open({str(fifo)!r}) as f:
        return f.read().strip()

def make_graph():
    return agentflow.react_graph([wait_gate])
""")
    model = script(
        tmp_path, [{"tool_calls": [{"name": "wait_gate", "arguments": {}}]}, {"final_answer": "opened"}]
    )
    env = {**os.environ, "AGENTFLOW_DB": str(db_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentflow", "run", str(graph), "-i", "x", "--model", model, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        with open(fifo, "w"):  # blocks until the tool opens the fifo: the run is inside the tool
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["status"] == "cancelled"
    resumed = subprocess.Popen(
        [sys.executable, "-m", "agentflow", "resume", result["run_id"], "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    with open(fifo, "w") as gate:
        gate.write("ok\n")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert json.loads(out)["output"] == "opened"
