"""Helpers for the MCP tests: real servers (scripts in servers/, `mcp-server-time`, `agentflow mcp serve`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio

import agentflow.mcp as mcp

SERVERS = Path(__file__).resolve().parent / "servers"
REPO = Path(__file__).resolve().parents[2]


def script_server(script: str, *args: str, **options: Any) -> mcp.StdioServer:
    """A declaration of the test server `servers/<name>.py`."""
    return mcp.stdio(sys.executable, [str(SERVERS / f"{script}.py"), *args], **options)


def time_server(**options: Any) -> mcp.StdioServer:
    """`mcp-server-time` from PyPI, run with this interpreter."""
    return mcp.stdio(
        sys.executable, ["-m", "mcp_server_time", "--local-timezone", "UTC"], name="time", **options
    )


def toolkit_server(db: Path, **options: Any) -> mcp.StdioServer:
    """agentflow's bundled tools served over stdio by `agentflow mcp serve`."""
    return mcp.stdio(
        sys.executable,
        ["-m", "agentflow", "mcp", "serve", "agentflow.toolkit", "--db", str(db)],
        name="toolkit",
        **options,
    )


class LogProbe:
    """A structlog-shaped logger for `connect(logger=...)` that keeps every event and sets `seen[text]` when a
    server's stderr line contains `text`: how a test learns a call has reached the server."""

    def __init__(self, *watch: str) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.seen = {text: anyio.Event() for text in watch}

    def bind(self, **_: Any) -> LogProbe:
        return self

    def _log(self, level: str, event: str, **fields: Any) -> None:
        self.events.append((level, event, fields))
        line = str(fields.get("line", ""))
        for text, flag in self.seen.items():
            if text in line:
                flag.set()

    def debug(self, event: str, **fields: Any) -> None:
        self._log("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log("warning", event, **fields)

    def stderr_lines(self) -> list[str]:
        return [f["line"] for _, e, f in self.events if e == "mcp server stderr"]


class HttpServe:
    """`agentflow mcp serve agentflow.toolkit --http 127.0.0.1:PORT` as a subprocess; `url` once it listens."""

    def __init__(self, db: Path, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentflow",
                "mcp",
                "serve",
                "agentflow.toolkit",
                "--http",
                f"127.0.0.1:{port}",
                "--db",
                str(db),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()  # "agentflow: serving N tools at URL" once the socket listens
        match = re.search(r"http://\S+", line)
        assert match, (
            f"server did not start: {line}{self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        )
        self.url = match.group(0)
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
