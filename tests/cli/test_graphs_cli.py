"""The bundled multi-agent graphs through the CLI, with scripted models (one file, or one per role)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import REPO, agentflow

from agentflow.store import RunStore

SCRIPTED = REPO / "examples" / "scripted"


@pytest.mark.parametrize(
    ("graph", "answer", "agents"),
    [
        (
            "plan_execute",
            "5 km is 3.10686 miles; 17 * 23 = 391; together 394.10686.",
            {"planner", "executor:s1", "executor:s2", "executor:s3", "writer"},
        ),
        (
            "supervisor",
            "2**10 = 1024; the timekeeper reported the time in Tokyo.",
            {"supervisor", "mathematician", "timekeeper"},
        ),
        ("handoff", "Noted: the boiler was serviced today.", {"front_desk", "archivist"}),
    ],
)
def test_bundled_graph_runs_from_the_cli(db_path: Path, graph: str, answer: str, agents: set[str]) -> None:
    """`agentflow run GRAPH --model scripted:FILE --json` ends with the scripted answer; the trace shows which
    agent made each decision; tool observations are the real tools' (checked on one per graph)."""
    proc = agentflow(
        "run", graph, "-i", "the task", "--model", f"scripted:{SCRIPTED / graph}.json", "--json", db=db_path
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "succeeded" and result["output"] == answer
    events = RunStore(db_path).events(result["run_id"])
    assert {e.agent for e in events if e.kind == "model_called"} == agents
    observations = {e.data["tool"]: e.data["content"] for e in events if e.kind == "tool_called"}
    if graph == "plan_execute":
        assert observations["calculator"] in ("391", "394.10686")
    elif graph == "supervisor":
        assert observations["calculator"] == "1024" and observations["current_time"].endswith("+09:00")
    else:
        assert json.loads(observations["write_note"])["run_id"] == result["run_id"]


def test_per_role_model_flags(tmp_path: Path, db_path: Path) -> None:
    """`--model ROLE=SPEC` beside a default `--model SPEC`: the role's decisions come from its own model."""
    data = json.loads((SCRIPTED / "supervisor.json").read_text())["roles"]
    mathematician = tmp_path / "mathematician.json"
    mathematician.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "calculator", "arguments": {"expression": "2**10"}}]},
                {"final_answer": "exactly 1024"},
            ]
        )
    )
    default = tmp_path / "rest.json"
    default.write_text(json.dumps({"roles": {k: v for k, v in data.items() if k != "mathematician"}}))
    proc = agentflow(
        "run",
        "supervisor",
        "-i",
        "x",
        "--model",
        f"scripted:{default}",
        "--model",
        f"mathematician=scripted:{mathematician}",
        "--json",
        db=db_path,
    )
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    models = {e.agent: e.data["model"] for e in RunStore(db_path).events(run_id) if e.kind == "model_called"}
    assert (
        models["mathematician"] == f"scripted:{mathematician}"
        and models["supervisor"] == f"scripted:{default}"
    )
    reports = [
        e.data["messages"]
        for e in RunStore(db_path).events(run_id)
        if e.kind == "model_called" and e.agent == "supervisor"
    ][1]
    assert any("mathematician reports: exactly 1024" in m["content"] for m in reports)


def test_a_failing_planner_exits_1_with_a_plan_error(tmp_path: Path, db_path: Path) -> None:
    """A planner that only produces cyclic plans: exit 1, error type PlanError in the JSON."""
    cyclic = {"final_answer": {"steps": [{"id": "s1", "description": "x", "depends_on": ["s1"]}]}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"roles": {"planner": [cyclic] * 3}}))
    proc = agentflow("run", "plan_execute", "-i", "x", "--model", f"scripted:{path}", "--json", db=db_path)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "PlanError"
