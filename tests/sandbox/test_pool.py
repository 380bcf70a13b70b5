"""The warm pool and per-run ownership: warm starts, a run's shared work dir, parallel executions in their own
containers, runs that cannot see each other, release and close removing everything."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from docker.errors import NotFound

from agentflow.sandbox import Policy, Sandbox, SandboxPool

from sandbox_fixtures import wait_running

pytestmark = pytest.mark.anyio

# two executions that each write a flag and wait (up to 20 s) for the other's: both succeed only if they run at
# the same time and see the same work dir
HANDSHAKE = """
import os, time
open("{mine}", "w").write("here")
deadline = time.monotonic() + 20
while not os.path.exists("{other}") and time.monotonic() < deadline:
    time.sleep(0.01)
print(os.path.exists("{other}"))
"""


def _gone(client: Any, container_ids: list[str], volumes: list[str]) -> bool:
    for container_id in container_ids:
        try:
            client.api.inspect_container(container_id)
            return False
        except NotFound:
            pass
    names = {v["Name"] for v in client.api.volumes()["Volumes"] or []}
    return not (set(volumes) & names)


async def test_a_warm_pool_serves_a_new_run_without_a_container_start(
    docker_client: Any, sandbox_image: str
) -> None:
    """With a container warm, a new run's first execution is warm; the pool refills behind it. Without, cold."""
    pool = SandboxPool(warm=1, client=docker_client, reap=False)
    cold_pool = SandboxPool(warm=0, client=docker_client, reap=False)
    try:
        await anyio.to_thread.run_sync(pool.prewarm, Policy())
        first = await Sandbox(pool, run_id="warm-a", policy=Policy()).python("print(1)")
        assert first.warm and first.stdout == "1\n"
        await anyio.to_thread.run_sync(pool.prewarm, Policy())  # waits for the refill
        assert pool.warm_count(Policy()) == 1
        cold = await Sandbox(cold_pool, run_id="cold-a", policy=Policy()).python("print(1)")
        assert not cold.warm and cold.stdout == "1\n"
    finally:
        pool.close()
        cold_pool.close()


async def test_a_runs_executions_share_its_work_dir_and_container(
    pool: SandboxPool, sandbox: Sandbox
) -> None:
    """write_file, then python_exec, then shell_exec of one run see the same files, in one container."""
    await sandbox.write_file("x.txt", "1")
    await sandbox.python("open('y.txt', 'w').write(open('x.txt').read() + '2')")
    result = await sandbox.shell("cat y.txt")
    assert result.stdout == "12" and len(pool.containers(sandbox.run_id)) == 1


async def test_parallel_executions_of_one_run_get_their_own_containers_on_one_work_dir(
    pool: SandboxPool, sandbox: Sandbox
) -> None:
    """Two executions of the same run at once run in two containers that share the run's files."""
    results: dict[str, Any] = {}

    async def run(mine: str, other: str) -> None:
        results[mine] = await sandbox.python(HANDSHAKE.format(mine=mine, other=other))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "a.flag", "b.flag")
        tg.start_soon(run, "b.flag", "a.flag")
    assert results["a.flag"].stdout == results["b.flag"].stdout == "True\n", results
    assert len(pool.containers(sandbox.run_id)) == 2


async def test_runs_do_not_see_each_others_files_or_processes(
    pool: SandboxPool, docker_client: Any, new_sandbox: Callable[..., Sandbox]
) -> None:
    """While run A's code runs with a file in its work dir, run B sees neither the file nor A's process."""
    a, b = new_sandbox(), new_sandbox()
    await a.write_file("a-secret.txt", "only for run a")
    seen: dict[str, Any] = {}

    async def run_a() -> None:
        seen["a"] = await a.python("import time\nwhile True:\n    time.sleep(1)\n", timeout=25)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_a)
        await wait_running(docker_client, pool, a.run_id)
        code = (
            "import json, os\nprint(json.dumps({'files': os.listdir('/work'), 'procs': "
            "[open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit()]}))"
        )
        seen["b"] = json.loads((await b.python(code)).stdout)
        await anyio.to_thread.run_sync(pool.release_run, a.run_id)  # ends A's execution: its container goes
    assert seen["b"]["files"] == [] and len(seen["b"]["procs"]) == 2  # B's runner and B's code, nothing of A
    assert seen["a"].killed_by == "engine" and seen["a"].exit_code is None  # released mid-execution


async def test_release_run_removes_the_runs_containers_and_work_dir(
    pool: SandboxPool, docker_client: Any, new_sandbox: Callable[..., Sandbox]
) -> None:
    """After release_run, the engine has none of the run's containers and not its volume; files are gone."""
    sandbox = new_sandbox()
    await sandbox.write_file("f.txt", "x")
    containers = pool.containers(sandbox.run_id)
    volumes = [docker_client.api.inspect_container(c)["Mounts"][0]["Name"] for c in containers]
    assert await anyio.to_thread.run_sync(pool.release_run, sandbox.run_id) == 1
    assert _gone(docker_client, containers, volumes) and pool.containers(sandbox.run_id) == []
    again = await sandbox.python("import os; print(os.listdir('/work'))")  # the same run id starts afresh
    assert again.stdout == "[]\n"


async def test_close_removes_warm_containers_and_their_volumes(
    docker_client: Any, sandbox_image: str
) -> None:
    """A pool's close leaves nothing of its own in the engine."""
    pool = SandboxPool(warm=2, client=docker_client, reap=False)
    await anyio.to_thread.run_sync(pool.prewarm, Policy())
    warm = [c for ready in pool._warm.values() for c in ready]
    assert len(warm) == 2
    await anyio.to_thread.run_sync(pool.close)
    assert _gone(docker_client, [c.id for c in warm], [c.volume for c in warm])


async def test_a_container_killed_from_outside_is_replaced(
    pool: SandboxPool, sandbox: Sandbox, docker_client: Any
) -> None:
    """If a run's container dies between executions, the next execution gets a new one."""
    await sandbox.python("pass")
    (first,) = pool.containers(sandbox.run_id)
    docker_client.api.kill(first)
    result = await sandbox.python("print('ok')")
    assert result.stdout == "ok\n" and pool.containers(sandbox.run_id) != [first]


async def test_policies_do_not_share_containers(
    pool: SandboxPool, new_sandbox: Callable[..., Sandbox]
) -> None:
    """One run under two policies gets a container per policy, each created with its own limits."""
    run = new_sandbox()
    tight = Sandbox(pool, run_id=run.run_id, policy=Policy(memory_mb=128))
    await run.python("pass")
    code = (
        "import os\nfor p in ('/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory.max'):\n"
        "    if os.path.exists(p):\n        print(open(p).read().strip())\n        break\n"
    )
    result = await tight.python(code)
    assert int(result.stdout) == 128 * 1024 * 1024 and len(pool.containers(run.run_id)) == 2
