"""One connection per server, with real misbehaving servers: a death mid-call, a hung call, error, huge,
binary and malformed results, concurrency on one session, pagination, and server-to-client requests."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

import agentflow.mcp as mcp
from agentflow.messages import ToolCall
from agentflow.tooling import RunContext, ToolOutcome, execute_call

from mcp_helpers import LogProbe, script_server

pytestmark = pytest.mark.anyio


async def call(toolset: mcp.McpToolset, name: str, **arguments: Any) -> ToolOutcome:
    tools = {t.name: t for t in toolset.tools}
    return await execute_call(ToolCall(name=name, arguments=arguments), tools, RunContext(run_id="t"))


async def test_one_session_serves_concurrent_calls() -> None:
    """Ten overlapping calls share one server process (one session, reused) and each gets its own answer."""
    async with mcp.connect([script_server("faulty")]) as toolset:
        pid = toolset.connections[0].pid
        results: dict[int, str] = {}

        async def one(i: int) -> None:
            results[i] = (await call(toolset, "echo", text=f"n{i}")).content

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(one, i)
        assert results == {i: f"n{i}" for i in range(10)}
        assert (await call(toolset, "pid")).content == str(pid)
        assert (await call(toolset, "echo_count")).content == "10"


async def test_a_server_that_dies_mid_call_is_reported_and_restarted() -> None:
    """The call's observation names the exit code, the server's last words and the unknown outcome; the next
    call runs on a fresh process."""
    async with mcp.connect([script_server("faulty")]) as toolset:
        first_pid = (await call(toolset, "pid")).content
        await call(toolset, "echo", text="x")
        died = await call(toolset, "die", code=7)
        assert died.is_error and died.error_type == "server_exited"
        for text in (
            "MCP server 'faulty' exited during the call (it exited with code 7)",
            "it will be restarted for the next call",
            "its outcome is unknown",
            "faulty: dying with code 7 as asked",
        ):
            assert text in died.content, died.content
        assert (await call(toolset, "pid")).content != first_pid
        assert (await call(toolset, "echo_count")).content == "0"  # a new process
        assert toolset.connections[0].restarts == 1


async def test_restarts_can_be_switched_off() -> None:
    """With max_restarts=0 a dead server stays down: later calls say so instead of restarting it."""
    async with mcp.connect([script_server("faulty", max_restarts=0)]) as toolset:
        assert (await call(toolset, "die")).error_type == "server_exited"
        later = await call(toolset, "echo", text="x")
        assert later.error_type == "server_unavailable" and "is down and was given up" in later.content


async def test_a_hung_call_times_out_and_is_cancelled_on_the_server() -> None:
    """The per-call timeout ends the call with a timeout observation and the server learns of the cancel."""
    async with mcp.connect([script_server("faulty", timeout_s=1)]) as toolset:
        outcome = await call(toolset, "hang")
        assert outcome.error_type == "timeout" and outcome.content == "tool 'hang' timed out after 1 s"
        assert (await call(toolset, "was_cancelled")).content == "true"
        assert (await call(toolset, "echo", text="still fine")).content == "still fine"


async def test_results_become_observations() -> None:
    """isError keeps structured content; binary content is described; a huge result is capped with the marker;
    structured content is the recorded result."""
    async with mcp.connect([script_server("faulty", max_observation_chars=500)]) as toolset:
        failing = await call(toolset, "failing")
        assert (failing.is_error, failing.error_type, failing.result) == (
            True,
            "mcp_tool_error",
            {"retry_after_s": 30},
        )
        assert failing.content == "tool 'failing' failed: quota exceeded"
        image = await call(toolset, "image")
        assert image.content == (
            "here is the chart\n[image: image/png, 8250 bytes]\n[resource file:///tmp/notes.txt]\na note"
        )
        big = await call(toolset, "big", n=100_000)
        assert len(big.content) == 500 and big.content.endswith("characters omitted]")
        echo = await call(toolset, "echo", text="hi")
        assert (echo.content, echo.result) == ("hi", {"result": "hi"})


async def test_a_malformed_result_is_an_error_observation() -> None:
    """A result that is not a valid CallToolResult is reported as such, and the server stays usable."""
    async with mcp.connect([script_server("malformed")]) as toolset:
        outcome = await call(toolset, "broken")
        assert outcome.error_type == "bad_result"
        assert "MCP server 'malformed' returned a malformed result for tool 'broken'" in outcome.content
        assert (await call(toolset, "broken")).error_type == "bad_result"


async def test_every_page_of_tools_is_listed() -> None:
    """A server that pages its tool list (3 per page) offers all 7 tools."""
    async with mcp.connect([script_server("paged")]) as toolset:
        assert [t.name for t in toolset.tools] == [f"tool_{i}" for i in range(7)]
        assert (await call(toolset, "tool_6")).content == "tool_6"


async def test_elicitation_is_declined_by_default_with_a_log_line() -> None:
    """Without a hook, a server's request for user input is declined and logged."""
    probe = LogProbe()
    async with mcp.connect([script_server("faulty")], logger=probe) as toolset:
        assert (await call(toolset, "confirm")).content == "decline:-"
    assert any(
        "declined" in event and fields.get("message") == "Delete everything?"
        for _, event, fields in probe.events
    )


async def test_elicitation_hook_answers_the_server() -> None:
    """A hook sees the server, message and requested schema; its answer reaches the server."""
    seen: list[mcp.ElicitationRequest] = []

    async def approve(request: mcp.ElicitationRequest) -> mcp.ElicitationAnswer:
        seen.append(request)
        return mcp.ElicitationAnswer(action="accept", content={"ok": True})

    async with mcp.connect([script_server("faulty")], elicitation=approve) as toolset:
        assert (await call(toolset, "confirm")).content == "accept:True"
    assert seen[0].server == "faulty" and seen[0].message == "Delete everything?"
    assert seen[0].mode == "form" and "ok" in json.dumps(seen[0].requested_schema)


async def test_sampling_is_refused_unless_a_handler_is_given() -> None:
    """A server asking our model to sample is refused by default; a handler's answer reaches it."""
    import mcp_types as types

    async def answer(server: str, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text=f"{server} asked"), model="scripted"
        )

    async with mcp.connect([script_server("faulty")]) as toolset:
        assert (await call(toolset, "ask_model", question="hi?")).content.startswith("refused: ")
    async with mcp.connect([script_server("faulty")], sampling=answer) as toolset:
        assert (await call(toolset, "ask_model", question="hi?")).content == "model said: faulty asked"
