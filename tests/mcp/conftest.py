"""Fixtures for the MCP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_helpers import HttpServe


@pytest.fixture
def http_toolkit(tmp_path: Path) -> Iterator[HttpServe]:
    """agentflow's toolkit served over streamable HTTP on a free loopback port, stopped after the test."""
    server = HttpServe(tmp_path / "served.db")
    try:
        yield server
    finally:
        server.stop()
