"""The async `Sandbox` API: cancellation removes the container in use; results as the tools and CLI see them."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from docker.errors import NotFound

from agentflow.sandbox import Sandbox, SandboxPool

from sandbox_fixtures import wait_running

pytestmark = pytest.mark.anyio


async def test_cancelling_an_execution_removes_its_container(
    pool: SandboxPool, sandbox: Sandbox, docker_client: Any
) -> None:
    """A caller cancelled mid-execution (a run cancelled, a budget hit) leaves no container running the code."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(sandbox.python, "import time; time.sleep(25)")
        container_id = await wait_running(docker_client, pool, sandbox.run_id)
        tg.cancel_scope.cancel()
    with anyio.fail_after(30):
        while True:
            try:
                docker_client.api.inspect_container(container_id)
            except NotFound:
                break
            await anyio.sleep(0.05)
    assert (await sandbox.python("print('next')")).stdout == "next\n"


async def test_result_as_dict_is_what_tools_and_cli_print(sandbox: Sandbox) -> None:
    """`as_dict()` has stdout, stderr, exit_code, timed_out, killed_by and files (path, size)."""
    result = await sandbox.python("open('o.txt', 'w').write('abc'); print('x')")
    assert result.as_dict() == {
        "exit_code": 0,
        "stdout": "x\n",
        "stderr": "",
        "timed_out": False,
        "killed_by": None,
        "files": [{"path": "o.txt", "size": 3}],
    }
    assert result.ok and result.policy == sandbox.policy.digest
