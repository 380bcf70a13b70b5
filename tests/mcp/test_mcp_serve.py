"""Serving agentflow tools over MCP (`agentflow mcp serve`), used by agentflow's own client: schemas, hints,
results and errors over stdio and HTTP, a restarted HTTP server, and the same answers as local tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

import agentflow.mcp as mcp
from agentflow import Runner, react_graph, tool
from agentflow.exceptions import ConfigError
from agentflow.mcp.serve import find_tools, load_tools, serve_http
from agentflow.messages import ToolCall
from agentflow.tooling import RunContext, ToolOutcome, execute_call
from agentflow.toolkit import DEFAULT_TOOLS

from mcp_helpers import HttpServe, toolkit_server

pytestmark = pytest.mark.anyio


async def call(toolset: mcp.McpToolset, name: str, **arguments: Any) -> ToolOutcome:
    tools = {t.name: t for t in toolset.tools}
    return await execute_call(ToolCall(name=name, arguments=arguments), tools, RunContext(run_id="t"))


async def test_served_toolkit_over_stdio_keeps_schemas_hints_and_results(tmp_path: Path) -> None:
    """Every bundled tool is offered with its own argument schema and hints (to a trusting client), answers as
    locally, reports errors as errors, and the notes tools keep data in the server's --db."""
    async with mcp.connect([toolkit_server(tmp_path / "notes.db", trusted=True)]) as toolset:
        served = {t.name: t for t in toolset.tools}
        assert list(served) == [t.name for t in DEFAULT_TOOLS]
        for local in DEFAULT_TOOLS:
            remote = served[local.name]
            assert remote.parameters == json.loads(json.dumps(local.parameters)), local.name
            assert remote.description == local.description
            assert (remote.read_only, remote.destructive, remote.idempotent) == (
                local.read_only,
                local.destructive,
                local.idempotent,
            ), local.name
        assert served["calculator"].output_schema["required"] == ["result"]  # a number, wrapped as MCP wants
        assert (await call(toolset, "calculator", expression="17 * 23 + 4")).content == "395"
        bad = await call(toolset, "calculator", expression="1/0")
        assert (
            bad.is_error and bad.error_type == "mcp_tool_error" and "division by zero" in bad.content.lower()
        )
        noted = await call(toolset, "write_note", text="the boiler was serviced")
        assert json.loads(noted.content)["run_id"] == "mcp-serve"
        found = await call(toolset, "search_notes", query="boiler")
        assert "the boiler was serviced" in found.content


async def test_untrusted_client_keeps_safe_defaults_for_served_tools(tmp_path: Path) -> None:
    """Without `trusted`, the read-only hints our server sends do not relax anything on the client."""
    async with mcp.connect([toolkit_server(tmp_path / "n.db")]) as toolset:
        assert {(t.read_only, t.destructive, t.idempotent) for t in toolset.tools} == {(False, True, False)}


async def test_served_toolkit_over_http(http_toolkit: HttpServe) -> None:
    """The same tools over streamable HTTP on loopback; headers are sent but never described."""
    server = mcp.http(http_toolkit.url, headers={"Authorization": "Bearer not-a-real-token"}, name="http")
    async with mcp.connect([server]) as toolset:
        assert [t.name for t in toolset.tools] == [t.name for t in DEFAULT_TOOLS]
        converted = await call(toolset, "convert_units", value=5, from_unit="km", to_unit="mi")
        assert converted.result == {"value": 3.10686, "unit": "mi"}
        assert "not-a-real-token" not in json.dumps(toolset.describe())


async def test_http_server_restart_gets_a_new_session(tmp_path: Path) -> None:
    """After the server restarts on the same port, calls (idempotent or not) open a new session and succeed,
    since the old session's request was refused unexecuted; when it stays down, only idempotent calls are
    retried (reconnecting with backoff) before the failure is reported."""
    db = tmp_path / "served.db"
    first = HttpServe(db)
    try:
        server = mcp.http(first.url, trusted=True, name="http")
        async with mcp.connect([server]) as toolset:
            assert (await call(toolset, "calculator", expression="1+1")).content == "2"
            first.stop()
            second = HttpServe(db, port=first.port)
            try:
                assert (await call(toolset, "calculator", expression="2+2")).content == "4"
                assert not (await call(toolset, "write_note", text="after the restart")).is_error
            finally:
                second.stop()
            connection = toolset.connections[0]
            restarts = connection.restarts
            down = await call(toolset, "calculator", expression="3+3")  # idempotent: retried, with backoff
            assert down.error_type == "server_unavailable" and "could not be restarted" in down.content, down
            assert connection.restarts - restarts == 2  # two retries, each reconnecting
            gone = await call(toolset, "write_note", text="nobody listens")  # not idempotent: one attempt
            assert gone.error_type == "server_unavailable" and "MCP server 'http'" in gone.content
            assert connection.restarts - restarts == 3
    finally:
        first.stop()


def test_tools_that_need_approval_are_refused_unless_allowed() -> None:
    """A served tool cannot ask a human, so a tool with an approval policy needs an explicit opt-in."""

    @tool(approval="always")
    def wipe() -> str:
        """Delete everything."""
        return "gone"

    with pytest.raises(ConfigError, match="tool 'wipe' needs human approval"):
        mcp.build_server([wipe])
    assert mcp.build_server([wipe], allow_approval_tools=True) is not None


async def test_non_loopback_hosts_are_refused_unless_allowed() -> None:
    """Serving on an address other machines can reach needs an explicit opt-in."""
    with pytest.raises(ConfigError, match="not a loopback address; pass --allow-remote"):
        await serve_http(DEFAULT_TOOLS, host="0.0.0.0", port=0)


async def test_served_tools_give_the_same_answers_as_local_tools(tmp_path: Path, db_path: Path) -> None:
    """The demo model on the toolkit served over MCP makes the same calls and gives the same answers as on the
    local toolkit: the prompt, schemas and observations are identical."""
    from agentflow.models.spec import DEMO_DIR

    model = f"transformers:{DEMO_DIR}?engine=llguidance"
    requests = ["What is 17 * 23 + 4?", "Convert 5 km to miles"]

    async def answers(tools: list[Any]) -> list[tuple[Any, list[str]]]:
        out = []
        async with Runner(db_path) as runner:
            for request in requests:
                result = await runner.run(react_graph(tools), request, model=model)
                observed = [
                    e.data["content"]
                    for e in await runner.storage.events(result.run_id)
                    if e.kind == "tool_called"
                ]
                out.append((result.output, observed))
        return out

    local = await answers(DEFAULT_TOOLS)
    async with mcp.connect([toolkit_server(tmp_path / "notes.db")]) as toolset:
        served = await answers(toolset.tools)
    assert served == local
    assert local[0][0] is not None and "395" in str(local[0][0])


def test_load_tools_from_modules_files_and_attributes(tmp_path: Path) -> None:
    """`MODULE`, `FILE.py`, `FILE.py:ATTR` and a factory all give tools; the module's own list sets the order."""
    assert [t.name for t in load_tools("agentflow.toolkit")] == [t.name for t in DEFAULT_TOOLS]
    assert [t.name for t in load_tools("agentflow.toolkit:calculator")] == ["calculator"]
    path = tmp_path / "my_tools.py"
    path.write_text(
        "import agentflow\n\n@agentflow.tool\ndef ping() -> str:\n    'Ping.'\n    return 'pong'\n\n"
        "def make():\n    return [ping]\n\nNOT_TOOLS = 3\n"
    )
    assert [t.name for t in load_tools(str(path))] == ["ping"]
    assert [t.name for t in load_tools(f"{path}:make")] == ["ping"]
    for spec, message in (
        (f"{path}:NOT_TOOLS", "is a int, not a tool"),
        (f"{path}:nope", "has no attribute 'nope'"),
        ("agentflow_no_such_module", "no module named"),
        ("json", "defines no agentflow tools"),
        (str(tmp_path / "missing.py"), "no such file"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_tools(spec)


def test_find_tools_accepts_a_tool_or_list() -> None:
    """A single tool or a list of tools is served as given."""

    @tool
    def one() -> int:
        """One."""
        return 1

    assert find_tools(one, "x") == [one] and find_tools([one], "x") == [one]


async def test_served_tool_errors_are_results(tmp_path: Path) -> None:
    """Invalid arguments come back as an isError result; an unknown tool as an MCP error."""
    async with mcp.connect([toolkit_server(tmp_path / "n.db")]) as toolset:
        out = await toolset.connections[0].call_tool("calculator", {"expression": 7})
        assert out.is_error and "invalid arguments for tool 'calculator'" in out.content[0].text
        with anyio.fail_after(10), pytest.raises(Exception, match="Unknown tool: nope"):
            await toolset.connections[0].call_tool("nope", {})
