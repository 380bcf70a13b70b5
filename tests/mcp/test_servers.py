"""Server declarations: frozen and hashable, validated, and never carrying secrets into records."""

from __future__ import annotations

import os
from typing import Any

import pytest

import agentflow
import agentflow.mcp as mcp
from agentflow.exceptions import ConfigError


def test_declarations_are_frozen_hashable_values() -> None:
    """Equal declarations are equal and hash alike, so they can key caches and sets; fields cannot change."""
    a = mcp.stdio("uvx", ["mcp-server-time"], env={"TZ": "UTC"}, include=["get_current_time"])
    b = mcp.stdio("uvx", ["mcp-server-time"], env={"TZ": "UTC"}, include=["get_current_time"])
    assert a == b and hash(a) == hash(b) and len({a, b, mcp.http("http://127.0.0.1:9/mcp")}) == 2
    with pytest.raises(AttributeError):
        a.command = "rm"  # type: ignore[misc]


def test_plain_import_reaches_the_mcp_package() -> None:
    """`import agentflow` is enough for `agentflow.mcp.stdio(...)`; every exported name resolves."""
    assert agentflow.mcp.stdio is mcp.stdio
    assert mcp.__all__ == sorted(mcp.__all__) and all(getattr(mcp, name) is not None for name in mcp.__all__)


def test_secrets_stay_out_of_repr_and_describe() -> None:
    """env and header values, URL user info and query never appear in repr or describe(); their names do."""
    server = mcp.stdio("srv", env={"API_KEY": "sk-live-123"})
    remote = mcp.http(
        "https://user:pw@example.test:8443/mcp?token=abc", headers={"Authorization": "Bearer xyz"}
    )
    text = repr(server) + repr(server.describe()) + repr(remote) + repr(remote.describe())
    for secret in ("sk-live-123", "Bearer xyz", "pw@", "token=abc"):
        assert secret not in repr(server.describe()) + repr(remote.describe()) + repr(server), secret
    assert "sk-live-123" not in text and "Bearer xyz" not in text
    assert server.describe()["env_keys"] == ["API_KEY"]
    assert remote.describe()["header_keys"] == ["Authorization"]
    assert remote.describe()["url"] == "https://example.test:8443/mcp?..."


def test_stdio_environment_is_path_plus_what_is_listed() -> None:
    """Nothing is inherited but PATH: HOME, USER and the rest of our environment stay out."""
    env = mcp.stdio("srv", env={"TZ": "UTC"}).environment()
    assert env == {"PATH": os.environ["PATH"], "TZ": "UTC"}
    assert mcp.stdio("srv", env={"PATH": "/opt/bin"}).environment() == {"PATH": "/opt/bin"}


@pytest.mark.parametrize(
    ("command", "args", "name"),
    [
        ("python", ["-m", "mcp_server_time"], "mcp_server_time"),
        ("/usr/bin/python3", ["servers/faulty.py"], "faulty"),
        ("uvx", ["--quiet", "mcp-server-git"], "mcp-server-git"),
        ("/opt/srv/my-server", [], "my-server"),
    ],
)
def test_default_names(command: str, args: list[str], name: str) -> None:
    """A server is named after its module, script, package or command unless `name` is given."""
    assert mcp.stdio(command, args).name == name
    assert mcp.http("http://127.0.0.1:8000/mcp").name == "127.0.0.1_8000"


def test_prefix_and_filters() -> None:
    """include / exclude filter by the server's names; the prefix is joined with an underscore."""
    server = mcp.stdio("srv", include=["a", "b"], exclude=["b"], prefix="git")
    assert [n for n in "abc" if server.offers(n)] == ["a"]
    assert server.local_name("status") == "git_status"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: mcp.stdio(""), "needs a command"),
        (lambda: mcp.stdio("srv", "--flag"), "args must be a list"),
        (lambda: mcp.stdio("srv", include="tool"), "include must be a list of tool names"),
        (lambda: mcp.stdio("srv", prefix="my-prefix"), "prefix 'my-prefix'"),
        (lambda: mcp.stdio("srv", name="bad name"), "server name 'bad name'"),
        (lambda: mcp.stdio("srv", timeout_s=0), "timeout_s must be positive"),
        (lambda: mcp.stdio("srv", env={"A": 1}), "env keys and values must be strings"),
        (lambda: mcp.http("ftp://example.test"), "must be http:// or https://"),
        (lambda: mcp.http("http://127.0.0.1/mcp", retries=-1), "retries must be >= 0"),
    ],
)
def test_bad_declarations_raise_config_errors(make: Any, message: str) -> None:
    """Each misuse is a ConfigError (CLI exit 2) that says what to fix."""
    with pytest.raises(ConfigError, match=message):
        make()


def test_loopback_hosts() -> None:
    """Only addresses of this machine count as loopback."""
    assert all(
        mcp.servers.is_loopback_host(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost")
    )
    assert not any(mcp.servers.is_loopback_host(h) for h in ("0.0.0.0", "10.0.0.1", "example.test", "::"))
