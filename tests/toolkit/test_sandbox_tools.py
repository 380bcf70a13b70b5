"""The sandbox tools in real runs (scripted model, real engine): a run's calls share its work dir, failures
are observations, approval gates them, the engine stopping mid-execution is an observation, not a hang."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest

import agentflow
from agentflow import Runner
from agentflow.approval import HumanDecision
from agentflow.sandbox import Policy, SandboxPool, default_policy, set_pool
from agentflow.testing import ScriptedModel
from agentflow.toolkit import (
    DEFAULT_TOOLS,
    SANDBOX_TOOLS,
    python_exec,
    read_file,
    sandbox_tools,
    shell_exec,
    write_file,
)

from helpers import call, calls, final
from sandbox_fixtures import stop_engine, wait_running

pytestmark = pytest.mark.anyio


async def _observations(runner: Runner, run_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await runner.storage.events(run_id) if e.kind == "tool_called"]


def test_the_tools_are_typed_non_idempotent_and_not_default() -> None:
    """Code-running tools are destructive and not idempotent; read_file is read-only; none is a default tool."""
    assert [t.name for t in SANDBOX_TOOLS] == ["python_exec", "shell_exec", "read_file", "write_file"]
    for made in (python_exec, shell_exec, write_file):
        assert made.destructive and not made.idempotent and not made.read_only
    assert read_file.read_only and not read_file.destructive
    assert not set(SANDBOX_TOOLS) & set(DEFAULT_TOOLS)
    assert (
        python_exec.parameters["required"] == ["code"] and "ctx" not in python_exec.parameters["properties"]
    )


async def test_write_file_then_python_exec_share_the_runs_work_dir(
    global_pool: SandboxPool, db_path: Path
) -> None:
    """A run writes a CSV, computes on it with pandas, and reads the result file back: one work dir."""
    model = ScriptedModel(
        [
            calls(call("write_file", path="data.csv", content="x,y\n1,2\n3,4\n")),
            calls(
                call(
                    "python_exec",
                    code="import pandas as pd\ns = pd.read_csv('data.csv').sum()\n"
                    "open('sum.txt', 'w').write(str(int(s.y)))\nprint(int(s.x))",
                )
            ),
            calls(call("read_file", path="sum.txt")),
            final("x sums to 4, y to 6"),
        ]
    )
    async with Runner(db_path) as runner:
        result = await runner.run(agentflow.react_graph(SANDBOX_TOOLS), "sum it", model=model)
        written, executed, read = await _observations(runner, result.run_id)
    assert result.ok
    assert json.loads(written["content"]) == {"path": "data.csv", "size": 12}
    run = json.loads(executed["content"])
    assert (
        run["exit_code"] == 0 and run["stdout"] == "4\n" and run["files"] == [{"path": "sum.txt", "size": 1}]
    )
    assert (
        run["policy"].startswith("hardened") and executed["result"] == run
    )  # the trace records it, policy too
    assert json.loads(read["content"])["content"] == "6"
    assert global_pool.containers(result.run_id) == []  # the run's end released its sandbox


async def test_failures_are_observations_and_the_run_goes_on(global_pool: SandboxPool, db_path: Path) -> None:
    """A traceback, a timeout and a refused path reach the model as observations; the run still succeeds."""
    quick = sandbox_tools(Policy(timeout_s=2))
    model = ScriptedModel(
        [
            calls(call("python_exec", code="1/0")),
            calls(call("shell_exec", command="sleep 30")),
            calls(call("read_file", path="../../etc/passwd")),
            final("done"),
        ]
    )
    async with Runner(db_path) as runner:
        result = await runner.run(agentflow.react_graph(quick), "break things", model=model)
        crashed, slept, refused = await _observations(runner, result.run_id)
    assert result.ok
    error = json.loads(crashed["content"])
    assert error["exit_code"] == 1 and "ZeroDivisionError" in error["stderr"] and not crashed["is_error"]
    timeout = json.loads(slept["content"])
    assert timeout["timed_out"] and timeout["killed_by"] == "timeout"
    assert refused["is_error"] and "contains '..'" in refused["content"]


async def test_approval_pauses_before_any_code_runs(global_pool: SandboxPool, db_path: Path) -> None:
    """With approval="always" the run pauses on python_exec; no container is taken for the run until decided."""
    model = ScriptedModel([calls(call("python_exec", code="print('approved')")), final("ok")])
    async with Runner(db_path) as runner:
        paused = await runner.run(
            agentflow.react_graph(sandbox_tools(approval="always")), "run it", model=model
        )
        assert paused.status == "awaiting_approval" and paused.pending[0].tool == "python_exec"
        assert global_pool.containers(paused.run_id) == []
        done = await runner.decide(
            paused.run_id,
            [HumanDecision(action="approve")],
            graph=agentflow.react_graph(sandbox_tools(approval="always")),
            model=model,
        )
        observation = (await _observations(runner, done.run_id))[-1]
    assert done.ok and json.loads(observation["content"])["stdout"] == "approved\n"


async def test_the_coder_graph_answers_by_running_code(global_pool: SandboxPool, db_path: Path) -> None:
    """The bundled `coder` graph runs the model's program in the sandbox and answers from its output."""
    model = ScriptedModel(
        [calls(call("python_exec", code="import numpy as np\nprint(int(np.arange(10).sum()))")), final("45")]
    )
    result = await agentflow.run("coder", "Sum 0..9 with numpy", model=model, db=db_path)
    async with Runner(db_path) as runner:
        (observation,) = await _observations(runner, result.run_id)
        events = await runner.storage.events(result.run_id)
    assert result.output == "45" and json.loads(observation["content"])["stdout"] == "45\n"
    (ready,) = [e.data for e in events if e.kind == "sandbox_ready"]  # the policy in force is in the trace
    assert ready["policies"][0]["digest"] == default_policy().digest
    assert ready["policies"][0]["network"] == "none"
    assert global_pool.containers(result.run_id) == []  # its containers went when the run ended


async def test_the_engine_stopping_mid_execution_is_an_observation(second_engine: str, db_path: Path) -> None:
    """Stopping the Docker engine while python_exec runs gives the model an error observation; the run ends."""
    client = docker.DockerClient(base_url=second_engine, version="1.41", timeout=60)
    pool = SandboxPool(warm=0, client=client, reap=False)
    previous = set_pool(pool)
    model = ScriptedModel(
        [calls(call("python_exec", code="import time; time.sleep(25)")), final("engine gone")]
    )
    try:
        async with Runner(db_path) as runner:
            holder: dict[str, Any] = {}

            async def go() -> None:
                holder["result"] = await runner.run(
                    agentflow.react_graph(SANDBOX_TOOLS), "x", model=model, run_id="engine-stop"
                )

            with anyio.fail_after(60):  # no hang
                async with anyio.create_task_group() as tg:
                    tg.start_soon(go)
                    await wait_running(client, pool, "engine-stop")
                    await anyio.to_thread.run_sync(stop_engine, second_engine)
            (observation,) = await _observations(runner, "engine-stop")
    finally:
        set_pool(previous)
        pool.close()
        client.close()
    assert holder["result"].ok and holder["result"].output == "engine gone"
    assert observation["is_error"] and "sandbox engine failure mid-execution" in observation["content"]
