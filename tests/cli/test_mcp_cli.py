"""`agentflow tools list` and `agentflow mcp serve` from the command line: output shapes and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentflow.cli.mcp import parse_host_port
from agentflow.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]
TIME_SERVER = f"{sys.executable} -m mcp_server_time"


def agentflow(*args: str, db: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTFLOW_DB": str(db), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


def test_tools_list_json_shows_sources_hints_schemas_and_decoding_support(db_path: Path) -> None:
    """Graph tools and an MCP server's tools, each with source, hints, schema and guaranteed-decoding support."""
    proc = agentflow("tools", "list", "react", "--mcp-stdio", TIME_SERVER, "--json", db=db_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {row["name"]: row for row in data["tools"]}
    assert rows["calculator"]["source"] == "graph react" and rows["calculator"]["read_only"] is True
    assert rows["get_current_time"]["source"] == "mcp:mcp_server_time"
    assert rows["get_current_time"]["destructive"] is True  # untrusted: MCP's safe defaults
    assert rows["get_current_time"]["parameters"]["required"] == ["timezone"]
    assert all(row["decoding"] == {"supported": True} for row in data["tools"])
    assert data["servers"][0]["tools"] == ["get_current_time", "convert_time"]


def test_tools_list_table_names_an_unsupported_keyword(tmp_path: Path, db_path: Path) -> None:
    """A served tool whose schema guaranteed decoding cannot enforce shows the keyword and JSON Pointer."""
    module = tmp_path / "odd_tools.py"
    module.write_text(
        "import agentflow\nfrom typing import Annotated\nfrom pydantic import Field\n\n"
        "@agentflow.tool\ndef when(day: Annotated[str, Field(json_schema_extra={'format': 'hostname-x'})]) -> str:\n"
        "    'Odd format.'\n    return day\n"
    )
    proc = agentflow(
        "tools", "list", "--mcp-stdio", f"{sys.executable} -m agentflow mcp serve {module}", db=db_path
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if " when " in line]
    assert (
        "mcp:agentflow" in row and "day: string" in row and "no: keyword 'format' at /properties/day" in row
    )


def test_tools_list_errors_exit_2(db_path: Path) -> None:
    """A name collision between a graph and a server, and a server that cannot start, exit 2 naming them."""
    clash = agentflow(
        "tools",
        "list",
        "react",
        "--mcp-stdio",
        f"{sys.executable} -m agentflow mcp serve agentflow.toolkit",
        db=db_path,
    )
    assert clash.returncode == 2
    assert "tool name 'calculator' is offered by a local tool and by MCP server 'agentflow'" in clash.stderr
    broken = agentflow("tools", "list", "--mcp-stdio", "agentflow-no-such-command", db=db_path)
    assert broken.returncode == 2 and "command 'agentflow-no-such-command' not found" in broken.stderr


def test_mcp_serve_refuses_bad_input_with_exit_2(db_path: Path) -> None:
    """An unknown module and a non-loopback host are refused before serving."""
    for args, message in (
        (["no_such_module_xyz"], "no module named 'no_such_module_xyz'"),
        (["agentflow.toolkit", "--http", "0.0.0.0:0"], "not a loopback address"),
    ):
        proc = agentflow("mcp", "serve", *args, db=db_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and proc.stdout == ""


def test_http_address_parsing() -> None:
    """HOST:PORT, [IPv6]:PORT and a bare port parse; anything else is a ConfigError."""
    assert parse_host_port("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_host_port("[::1]:0") == ("::1", 0)
    assert parse_host_port("9000") == ("127.0.0.1", 9000)
    for bad in ("localhost:http", "127.0.0.1:70000"):
        with pytest.raises(ConfigError, match="--http"):
            parse_host_port(bad)
