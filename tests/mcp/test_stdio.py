"""The stdio transport with real processes: explicit environment, stderr to the log, fast typed start
failures, and the whole process group reaped on close."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import psutil
import pytest

import agentflow.mcp as mcp
from agentflow.exceptions import McpStartError
from agentflow.messages import ToolCall
from agentflow.tooling import RunContext, execute_call

from mcp_helpers import SERVERS, LogProbe, script_server

pytestmark = pytest.mark.anyio


async def call(toolset: mcp.McpToolset, name: str, **arguments: object):  # type: ignore[no-untyped-def]
    tools = {t.name: t for t in toolset.tools}
    return await execute_call(ToolCall(name=name, arguments=dict(arguments)), tools, RunContext(run_id="t"))


async def test_environment_is_explicit_and_stderr_goes_to_the_log(capfd: pytest.CaptureFixture[str]) -> None:
    """The server sees only PATH and the listed variables; its stderr lines reach the log, with listed values
    masked, and nothing reaches our terminal."""
    probe = LogProbe()
    async with mcp.connect(
        [script_server("faulty", env={"SECRET": "hunter2-secret"})], logger=probe
    ) as toolset:
        assert (await call(toolset, "echo", text="hi")).content == "hi"
    lines = probe.stderr_lines()
    assert any("faulty: starting, HOME=None SECRET=***" in line for line in lines), lines
    assert not any("hunter2-secret" in repr(event) for event in probe.events)
    out, err = capfd.readouterr()
    assert "faulty: starting" not in out + err


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (
            script_server("crash_at_start"),
            ["MCP server 'crash_at_start'", "it exited with code 3", "cannot read config /etc/nowhere.toml"],
        ),
        (
            script_server("garbage"),
            [
                "MCP server 'garbage'",
                "printed 'Welcome to garbage server v1.0!' on stdout instead of JSON-RPC",
                "garbage: started",
            ],
        ),
        (
            script_server("silent", start_timeout_s=1),
            ["MCP server 'silent'", "no answer to the MCP handshake within 1 s"],
        ),
        (mcp.stdio("agentflow-no-such-command"), ["command 'agentflow-no-such-command' not found"]),
        (
            mcp.stdio(sys.executable, ["-c", "pass"], cwd="/nonexistent/dir"),
            ["working directory '/nonexistent/dir'"],
        ),
    ],
)
async def test_a_server_that_does_not_start_is_a_typed_error(
    server: mcp.StdioServer, expected: list[str]
) -> None:
    """Bad command, immediate exit, garbage on stdout, or silence: McpStartError naming the server, why, and its
    last stderr lines — and no process left behind."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with anyio.fail_after(30), pytest.raises(McpStartError) as info:
        async with mcp.connect([server]):
            pass
    for text in expected:
        assert text in str(info.value), str(info.value)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


async def test_close_reaps_the_process_group_including_grandchildren() -> None:
    """Closing the connection kills the server and every process it started in its group."""
    async with mcp.connect([script_server("faulty")]) as toolset:
        server_pid = toolset.connections[0].pid
        grandchild = int((await call(toolset, "spawn_grandchild")).content)
        assert server_pid is not None and psutil.pid_exists(grandchild)
    for pid in (server_pid, grandchild):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid


async def test_a_server_that_ignores_eof_and_sigterm_is_killed_on_close() -> None:
    """A server that outlives its stdin and ignores SIGTERM is SIGKILLed with its group when the scope closes."""
    async with mcp.connect([script_server("stubborn")]) as toolset:
        pid = toolset.connections[0].pid
        assert (await call(toolset, "echo", text="x")).content == "x"
    assert pid is not None and not psutil.pid_exists(pid)


def test_sigterm_of_our_process_reaps_the_servers(tmp_path: Path) -> None:
    """A process that turns SIGTERM into cancellation (as the CLI does) reaps its servers and their children."""
    client = tmp_path / "hold.py"
    client.write_text(
        textwrap.dedent(f"""
        import signal, sys
        import anyio
        import structlog
        import agentflow.mcp as mcp
        from agentflow.messages import ToolCall
        from agentflow.tooling import RunContext, execute_call

        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

        async def main():
            async with anyio.create_task_group() as tg:
                async def watch():
                    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
                        async for _ in signals:
                            tg.cancel_scope.cancel()
                tg.start_soon(watch)
                server = mcp.stdio(sys.executable, [{str(SERVERS / "faulty.py")!r}])
                async with mcp.connect([server]) as toolset:
                    tools = {{t.name: t for t in toolset.tools}}
                    out = await execute_call(ToolCall(name="spawn_grandchild", arguments={{}}), tools,
                                             RunContext(run_id="t"))
                    print("PIDS", toolset.connections[0].pid, out.content, flush=True)
                    await anyio.sleep_forever()

        anyio.run(main)
    """)
    )
    proc = subprocess.Popen([sys.executable, str(client)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("PIDS "), line
        server_pid, grandchild = map(int, line.split()[1:])
        assert psutil.pid_exists(server_pid) and psutil.pid_exists(grandchild)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    for pid in (server_pid, grandchild):
        assert not psutil.pid_exists(pid), pid
