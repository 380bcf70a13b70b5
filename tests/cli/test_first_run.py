"""What a new user hits in the first ten minutes (issue 14): one test per defect seen, through the real CLI."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARITHMETIC = f"scripted:{REPO / 'examples' / 'scripted' / 'arithmetic.json'}"
SUM = "What is 17 * 23 + 4?"

GRAPH = '''
import agentflow

@agentflow.tool(destructive=True, idempotent=False)
def pay(to: str, amount: int, memo: str = "") -> str:
    """Pay someone."""
    return f"paid {amount} to {to}{' for ' + memo if memo else ''}"

def _parse(text):
    raise ValueError("kaboom: " + text)

@agentflow.tool
def explode(text: str) -> str:
    """Always fails."""
    return _parse(text)

def make_graph():
    return agentflow.react_graph([pay, explode], approval={"pay": "always"})
'''


def cli(*args: str, db: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTFLOW_DB": str(db), "COLUMNS": "80", **(env or {})},
        timeout=180,
        cwd=REPO,
    )


@pytest.fixture
def graph(tmp_path: Path) -> str:
    path = tmp_path / "payments.py"
    path.write_text(GRAPH)
    return str(path)


def script(tmp_path: Path, decisions: list[dict[str, Any]], name: str = "script.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(decisions))
    return f"scripted:{path}"


PAY = {
    "reasoning": "Pay the plumber for the boiler work done on Monday.",
    "tool_calls": [
        {
            "name": "pay",
            "arguments": {
                "to": "plumber-services-international-limited",
                "amount": 120,
                "memo": "servicing the boiler in the basement on Monday morning, invoice 2026-0042",
            },
        }
    ],
}


def test_approve_edit_is_a_merge_patch_and_null_is_refused(tmp_path: Path, db_path: Path, graph: str) -> None:
    """`--edit '{"amount": 50}'` changes one argument and keeps the others; `--edit null` is refused (exit 2)."""
    model = script(tmp_path, [PAY, {"final_answer": "done"}])
    paused = json.loads(cli("run", graph, "-i", "pay the plumber", "-m", model, "--json", db=db_path).stdout)
    assert paused["status"] == "awaiting_approval"
    refused = cli("approve", paused["run_id"], "--edit", "null", db=db_path)
    assert refused.returncode == 2 and "--edit takes a JSON object" in refused.stderr
    done = cli("approve", paused["run_id"], "--edit", '{"amount": 50, "memo": null}', "--json", db=db_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(cli("runs", "show", paused["run_id"], "--json", db=db_path).stdout)
    (called,) = [e["data"] for e in shown["events"] if e["kind"] == "tool_called"]
    assert called["arguments"] == {"to": "plumber-services-international-limited", "amount": 50}
    assert called["content"] == "paid 50 to plumber-services-international-limited"


def test_unknown_model_roles_are_refused_and_graphs_lists_roles(db_path: Path) -> None:
    """`--model planner=...` on react names react's roles (exit 2); `graphs` lists descriptions and roles."""
    proc = cli("run", "react", "-i", SUM, "-m", ARITHMETIC, "-m", "planner=demo", db=db_path)
    assert proc.returncode == 2 and "no model role 'planner'" in proc.stderr and "agent" in proc.stderr
    typo = cli("run", "plan_execute", "-i", SUM, "-m", "planer=demo", "--json", db=db_path)
    assert typo.returncode == 2 and "planner, " in json.loads(typo.stdout)["error"]["message"]
    listed = {g["name"]: g for g in json.loads(cli("graphs", "--json", db=db_path).stdout)}
    assert listed["plan_execute"]["roles"] == ["planner", "executor", "writer"]
    assert listed["react"]["roles"] == ["agent"] and "ReAct" in listed["react"]["description"]
    table = cli("graphs", db=db_path).stdout
    assert "planner, executor," in table and "mathematician" in table


def test_runs_show_names_agents_and_parallel_tool_results_keep_their_step(db_path: Path) -> None:
    """A parallel plan run's trace shows agent names, and each tool result is under its own decision's step."""
    model = f"scripted:{REPO / 'examples' / 'scripted' / 'plan_execute.json'}"
    run = json.loads(
        cli(
            "run",
            "plan_execute",
            "-i",
            "Convert 5 km to miles and add 17 * 23",
            "-m",
            model,
            "--json",
            db=db_path,
        ).stdout
    )
    assert run["status"] == "succeeded"
    shown = json.loads(cli("runs", "show", run["run_id"], "--json", db=db_path).stdout)
    step_of = {e["data"]["task"]: e["step"] for e in shown["events"] if e["kind"] == "model_called"}
    tools = [e for e in shown["events"] if e["kind"] == "tool_called"]
    assert len(tools) >= 2 and all(e["step"] == step_of[e["data"]["decision"]] for e in tools)
    text = cli("runs", "show", run["run_id"], db=db_path).stdout
    assert "planner" in text and "executor:" in text and "writer" in text


def test_a_run_without_model_records_the_demo_model(db_path: Path) -> None:
    """Omitting --model records the model that decides (the bundled demo), not null."""
    run = json.loads(cli("run", "react", "-i", SUM, "--max-steps", "1", "--json", db=db_path).stdout)
    (listed,) = json.loads(cli("runs", "list", "--json", db=db_path).stdout)
    shown = json.loads(cli("runs", "show", run["run_id"], "--json", db=db_path).stdout)
    assert listed["run_id"] == run["run_id"] and shown["run"]["model"] == "demo"


def test_a_failed_run_prints_its_error_once(tmp_path: Path, db_path: Path) -> None:
    """The live view's error line is the only one (the result does not repeat it)."""
    model = script(tmp_path, [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}])
    proc = cli("run", "react", "-i", "1+1?", "-m", model, db=db_path)
    assert proc.returncode == 1
    assert proc.stderr.count("has no decision for turn 2") == 1


def test_quiet_prints_no_tables(tmp_path: Path, db_path: Path, graph: str) -> None:
    """`-q` on a run that pauses: no live view, no table; exit 4 and one line on how to decide."""
    model = script(tmp_path, [PAY, {"final_answer": "done"}])
    proc = cli("run", graph, "-i", "pay", "-m", model, "-q", db=db_path)
    assert proc.returncode == 4
    assert "pending tool calls" not in proc.stderr and "step 1" not in proc.stderr
    assert "waiting for decisions" in proc.stderr and proc.stdout == ""


def test_eof_at_the_approval_prompt_leaves_the_run_paused(tmp_path: Path, db_path: Path, graph: str) -> None:
    """In a terminal, closing stdin at the approve/edit/reject prompt exits 4 (awaiting approval), not 1."""
    model = script(tmp_path, [PAY, {"final_answer": "done"}])
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentflow", "run", graph, "-i", "pay", "-m", model],
        stdin=slave,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**os.environ, "AGENTFLOW_DB": str(db_path)},
        cwd=REPO,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while b"pprove" not in seen and time.monotonic() < deadline:  # the prompt is on the terminal
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    os.write(master, b"\x04")  # Ctrl-D: end of input
    try:
        code = proc.wait(timeout=120)
    finally:
        os.close(master)
    assert b"pprove" in seen
    assert code == 4
    (listed,) = json.loads(cli("runs", "list", "--json", db=db_path).stdout)
    assert listed["status"] == "awaiting_approval"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "react", "--json"], "--input"),
        (["run", "react", "-i", SUM, "--temperature", "-1", "--json"], "--temperature"),
        (["runs", "list", "--status", "bogus", "--json"], "--status"),
    ],
)
def test_usage_errors_with_json_still_print_one_json_object(
    args: list[str], words: str, db_path: Path
) -> None:
    """A missing option, a value out of range, an unknown status: exit 2 and one JSON object naming the option."""
    proc = cli(*args, db=db_path)
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "UsageError" and words in error["message"]


def test_pending_and_runs_list_wrap_instead_of_cutting(tmp_path: Path, db_path: Path, graph: str) -> None:
    """On 80 columns and not a terminal, the tool name, every argument and the date are shown in full."""
    model = script(tmp_path, [PAY, {"final_answer": "done"}])
    cli("run", graph, "-i", "pay", "-m", model, db=db_path)
    table = cli("pending", db=db_path).stdout
    assert "…" not in table
    columns = _columns(table)
    assert columns[2] == "pay"  # the tool, then its arguments, whole
    shown = json.dumps(PAY["tool_calls"][0]["arguments"], ensure_ascii=False)
    assert "".join(columns[3].split()) == "".join(shown.split())
    listed = cli("runs", "list", db=db_path).stdout
    (record,) = json.loads(cli("runs", "list", "--json", db=db_path).stdout)
    columns = _columns(listed)
    assert columns[0] == record["run_id"] and "".join(columns[1].split()) == "awaiting_approval"
    assert "".join(columns[2].split()) == graph.replace(" ", "")
    assert columns[3] == record["created_at"][:19].replace("T", " ")


def _columns(table: str) -> list[str]:
    """Each column of a rich table's body, its wrapped lines joined (spaces where the words were split)."""
    rows = [line.split("│") for line in table.splitlines() if "│" in line]
    width = max(len(r) for r in rows)
    cells = [[r[i].strip() for r in rows if len(r) == width] for i in range(width)]
    return [" ".join(c for c in column if c) for column in cells]


def test_a_tools_traceback_is_in_the_trace_and_in_verbose_output(
    tmp_path: Path, db_path: Path, graph: str
) -> None:
    """A raising tool: the model reads one line; the trace and `-v` hold the traceback down to the raise."""
    model = script(
        tmp_path,
        [{"tool_calls": [{"name": "explode", "arguments": {"text": "x"}}]}, {"final_answer": "it failed"}],
    )
    proc = cli("run", graph, "-i", "explode", "-m", model, "-v", "--json", db=db_path)
    assert proc.returncode == 0
    assert "Traceback" in proc.stderr and "_parse" in proc.stderr
    shown = json.loads(cli("runs", "show", json.loads(proc.stdout)["run_id"], "--json", db=db_path).stdout)
    (called,) = [e["data"] for e in shown["events"] if e["kind"] == "tool_called"]
    assert "_parse" in called["traceback"] and "ValueError: kaboom: x" in called["traceback"]
    assert "Traceback" not in called["content"] and "kaboom" in called["content"]


def test_very_verbose_keeps_dependencies_debug_logs_out(db_path: Path) -> None:
    """`-vv` shows agentflow's debug lines but not aiosqlite's (or any dependency's) DEBUG flood."""
    proc = cli("run", "react", "-i", SUM, "-m", ARITHMETIC, "-vv", db=db_path)
    assert proc.returncode == 0
    assert "aiosqlite" not in proc.stderr and "DEBUG" not in proc.stderr


def test_help_shows_no_types_for_flags(db_path: Path) -> None:
    """`--json`, `-q` and `-v` take no value, and the help does not suggest they do."""
    out = cli("run", "--help", db=db_path, env={"COLUMNS": "120"}).stdout
    assert "<bool>" not in out and "<int>" not in out.split("--verbose")[1].splitlines()[0]


def test_step_and_call_counts_are_pluralized(db_path: Path) -> None:
    """ "2 steps, 1 tool call" (not "1 tool calls")."""
    proc = cli("run", "react", "-i", SUM, "-m", ARITHMETIC, db=db_path)
    assert "2 steps, 1 tool call," in proc.stderr


def test_a_partial_result_is_a_result_not_the_models_reasoning(db_path: Path) -> None:
    """A run stopped by its budget after a tool call shows the tool's result as partial, and how to go on."""
    proc = cli("run", "react", "-i", SUM, "-m", ARITHMETIC, "--max-steps", "1", db=db_path)
    assert proc.returncode == 3
    assert "partial result: 395" in proc.stderr and "Compute 17" not in proc.stderr.split("partial result")[1]
    assert "agentflow resume" in proc.stderr and "--max-steps" in proc.stderr


def test_an_engine_size_limit_is_named_as_one(db_path: Path) -> None:
    """Forcing outlines_core on the bundled graph: exit 2 and an error saying it is that engine's size limit."""
    proc = cli("run", "react", "-i", SUM, "-m", "demo?engine=outlines_core&grounded=off", db=db_path)
    assert proc.returncode == 2
    assert "EngineLimitError" in proc.stderr and "size limit of outlines_core" in proc.stderr


def test_a_model_spec_typo_fails_before_anything_loads(db_path: Path) -> None:
    """A missing model directory or scripted file is reported at once, before the graph or a model loads."""
    proc = cli("run", "react", "-i", SUM, "-m", "transformers:/no/such/model", db=db_path)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not db_path.exists()  # nothing was started
    proc = cli("run", "react", "-i", SUM, "-m", "demo?threads=none", db=db_path)
    assert proc.returncode == 2 and "threads must be a whole number" in proc.stderr


def test_scripts_test_help_builds_nothing(tmp_path: Path) -> None:
    """`scripts/test --help` prints its usage and exits 0 without creating any environment."""
    venv = tmp_path / "venv"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "test"), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTFLOW_VENV": str(venv), "AGENTFLOW_VLLM_VENV": str(tmp_path / "vllm")},
        timeout=60,
    )
    assert proc.returncode == 0 and "AGENTFLOW_SKIP_VLLM" in proc.stdout
    assert not venv.exists() and not (tmp_path / "vllm").exists()


def test_a_failed_setup_names_its_step_and_log(tmp_path: Path) -> None:
    """When preparing the environment fails, one line says at which step and where the full log is."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    log = tmp_path / "setup.log"
    proc = subprocess.run(
        ["bash", "-c", f"source {REPO / 'scripts' / 'env.sh'}"],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTFLOW_VENV": str(blocker / "venv"), "AGENTFLOW_SETUP_LOG": str(log)},
        timeout=120,
    )
    assert proc.returncode != 0
    assert "[1/5] creating the virtualenv" in proc.stderr
    assert "failed while: creating the virtualenv" in proc.stderr and str(log) in proc.stderr
    assert log.read_text().strip() and proc.stderr.count("\n") < 30


def test_pending_shows_a_servers_question_verbatim() -> None:
    """An MCP server's elicitation message is shown as text: markup in it neither styles nor breaks the table."""
    from rich.console import Console

    from agentflow.approval import PendingCall
    from agentflow.cli.render import pending_table

    call = PendingCall(
        run_id="r1",
        call_id="c1",
        tool="deploy",
        arguments={"env": "[prod]"},
        elicitation={"message": "Confirm [/] [bold]all[/bold]?", "requested_schema": {}},
    )
    console = Console(width=200, record=True, color_system=None)
    console.print(pending_table([call]))
    assert "Confirm [/] [bold]all[/bold]?" in console.export_text()
