"""Reaching the Docker engine: DOCKER_HOST is honoured, and no engine is a typed error saying what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentflow.exceptions import SandboxUnavailableError, UserError
from agentflow.sandbox.engine import connect, engine_info


def test_no_engine_at_docker_host_is_a_typed_error_with_the_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable DOCKER_HOST raises SandboxUnavailableError (a UserError) naming it and how to start one."""
    host = f"unix://{tmp_path}/nothing.sock"
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(SandboxUnavailableError) as info:
        connect(timeout_s=5)
    message = str(info.value)
    assert isinstance(info.value, UserError)
    assert f"DOCKER_HOST={host}" in message
    assert "systemctl start docker" in message and "scripts/dockerd.sh start" in message


def test_engine_info_reports_runtimes_and_seccomp(docker_client: Any) -> None:
    """The engine under test offers runc, applies seccomp, and says which cgroup version it uses."""
    info = engine_info(docker_client)
    assert "runc" in info.runtimes and info.seccomp and info.cgroup_version in ("1", "2")
