"""Declaring MCP servers: `stdio(...)` and `http(...)` return frozen, hashable declarations.

A declaration says what to start or reach and how to treat its tools; nothing connects until
`agentflow.mcp.connect` (or a run) opens it. Secrets stay out of records: `env` and `headers` values are kept
out of `repr` and `describe()`, which name only their keys.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentflow.exceptions import ConfigError
from agentflow.tooling.source import ToolSource

__all__ = [
    "DEFAULT_CALL_TIMEOUT_S",
    "DEFAULT_START_TIMEOUT_S",
    "HttpServer",
    "McpServer",
    "StdioServer",
    "from_description",
    "http",
    "is_loopback_host",
    "safe_url",
    "stdio",
]

DEFAULT_CALL_TIMEOUT_S = 30.0
DEFAULT_START_TIMEOUT_S = 30.0
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Common(ToolSource):
    """Options every server declaration has.

    - `name`: how records, logs and errors refer to the server (unique among the servers of a run);
    - `prefix`: tools are offered as `<prefix>_<tool>` (resolves name collisions between sources);
    - `include` / `exclude`: tool names (the server's own) to keep / drop;
    - `trusted`: hints that relax safety (read-only, idempotent, non-destructive) count only when True;
    - `timeout_s`: per call (the request is cancelled on the server); `start_timeout_s`: start + handshake;
    - `accept_changes`: a changed tool definition is logged instead of stopping the run;
    - `max_restarts`: a server that died is restarted for the next call; after this many failed restarts in
      a row it is given up for the session (0: never restart);
    - `max_observation_chars`: cap on one result's text (default: agentflow's 4000).
    """

    name: str
    prefix: str | None = None
    include: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    trusted: bool = False
    timeout_s: float | None = DEFAULT_CALL_TIMEOUT_S
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S
    accept_changes: bool = False
    max_restarts: int = 3
    max_observation_chars: int | None = None

    def offers(self, tool_name: str) -> bool:
        """Whether the server's tool `tool_name` passes the include / exclude filters."""
        if self.include is not None and tool_name not in self.include:
            return False
        return tool_name not in self.exclude

    def local_name(self, tool_name: str) -> str:
        """The name the model sees for the server's tool `tool_name`."""
        return f"{self.prefix}_{tool_name}" if self.prefix else tool_name

    def _options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "trusted": self.trusted, "timeout_s": self.timeout_s}
        if self.prefix:
            out["prefix"] = self.prefix
        if self.include is not None:
            out["include"] = sorted(self.include)
        if self.exclude:
            out["exclude"] = sorted(self.exclude)
        if self.accept_changes:
            out["accept_changes"] = True
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class StdioServer(_Common):
    """An MCP server run as a subprocess speaking JSON-RPC on stdin / stdout (see `stdio`)."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cwd: str | None = None

    @property
    def transport(self) -> str:
        return "stdio"

    def environment(self) -> dict[str, str]:
        """The server's whole environment: PATH (ours, unless listed) and what the declaration lists."""
        return {"PATH": os.environ.get("PATH", os.defpath), **dict(self.env)}

    def describe(self) -> dict[str, Any]:
        """A JSON-safe description for records and traces: env variable names only, never their values."""
        out = {"transport": "stdio", "command": self.command, "args": list(self.args), **self._options()}
        if self.env:
            out["env_keys"] = sorted(k for k, _ in self.env)
        if self.cwd:
            out["cwd"] = self.cwd
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpServer(_Common):
    """An MCP server reached over streamable HTTP (see `http`)."""

    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    retries: int = 2

    @property
    def transport(self) -> str:
        return "http"

    def describe(self) -> dict[str, Any]:
        """A JSON-safe description for records and traces: header names only, never their values; the URL
        without user info or query (either may carry a token)."""
        out = {"transport": "http", "url": safe_url(self.url), **self._options()}
        if self.headers:
            out["header_keys"] = sorted(k for k, _ in self.headers)
        return out


McpServer = StdioServer | HttpServer


def _names(value: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise ConfigError(f"{what} must be a list of tool names, not a string ({value!r})")
    return frozenset(value)


def _common(
    name: str,
    prefix: str | None,
    include: Iterable[str] | None,
    exclude: Iterable[str] | None,
    timeout_s: float | None,
    start_timeout_s: float,
    max_restarts: int,
) -> dict[str, Any]:
    if not _NAME.fullmatch(name):
        raise ConfigError(f"MCP server name {name!r} must be 1-64 letters, digits, '_', '-' or '.'")
    if prefix is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,32}", prefix):
        raise ConfigError(f"MCP server '{name}': prefix {prefix!r} must be 1-32 letters, digits or '_'")
    if timeout_s is not None and timeout_s <= 0:
        raise ConfigError(f"MCP server '{name}': timeout_s must be positive (got {timeout_s})")
    if start_timeout_s <= 0:
        raise ConfigError(f"MCP server '{name}': start_timeout_s must be positive (got {start_timeout_s})")
    if max_restarts < 0:
        raise ConfigError(f"MCP server '{name}': max_restarts must be >= 0 (got {max_restarts})")
    return dict(
        name=name,
        prefix=prefix or None,
        include=_names(include, "include"),
        exclude=_names(exclude, "exclude") or frozenset(),
        timeout_s=timeout_s,
        start_timeout_s=start_timeout_s,
        max_restarts=max_restarts,
    )


def _pairs(values: Mapping[str, str] | None, what: str, server: str) -> tuple[tuple[str, str], ...]:
    if values is None:
        return ()
    if not isinstance(values, Mapping):
        raise ConfigError(f"MCP server '{server}': {what} must be a mapping of names to strings")
    bad = [k for k, v in values.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise ConfigError(
            f"MCP server '{server}': {what} keys and values must be strings ({', '.join(map(str, bad))})"
        )
    return tuple(sorted(values.items()))


def _default_stdio_name(command: str, args: Sequence[str]) -> str:
    if "-m" in args[:-1]:  # python -m package
        base = args[list(args).index("-m") + 1]
    elif args and args[0].endswith((".py", ".js", ".ts")):  # python server.py, node server.js
        base = Path(args[0]).stem
    else:
        base = Path(command).name
        if base in ("uvx", "npx", "pipx") and args:
            base = next((a for a in args if not a.startswith("-")), base)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base)[:64] or "server"


def stdio(
    command: str,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    name: str | None = None,
    prefix: str | None = None,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    trusted: bool = False,
    timeout_s: float | None = DEFAULT_CALL_TIMEOUT_S,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    accept_changes: bool = False,
    max_restarts: int = 3,
    max_observation_chars: int | None = None,
) -> StdioServer:
    """Declare an MCP server started as `command args...` with stdin / stdout as its transport.

    Its environment is explicit: PATH and exactly the variables in `env` (nothing else is inherited). It runs
    in its own process group, reaped as a group when the connection closes; its stderr goes to the log.
    `name` defaults to the module after `-m`, the script's name (`python server.py`), the package run by
    uvx / npx / pipx, else the command's file name.
    """
    if not isinstance(command, str) or not command.strip():
        raise ConfigError("an MCP stdio server needs a command")
    if isinstance(args, str):
        raise ConfigError(f"args must be a list of strings, not a string ({args!r})")
    args = tuple(str(a) for a in args)
    server_name = name or _default_stdio_name(command, args)
    return StdioServer(
        command=command,
        args=args,
        env=_pairs(env, "env", server_name),
        cwd=os.fspath(cwd) if cwd is not None else None,
        trusted=trusted,
        accept_changes=accept_changes,
        max_observation_chars=max_observation_chars,
        **_common(server_name, prefix, include, exclude, timeout_s, start_timeout_s, max_restarts),
    )


def http(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    name: str | None = None,
    prefix: str | None = None,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    trusted: bool = False,
    timeout_s: float | None = DEFAULT_CALL_TIMEOUT_S,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    accept_changes: bool = False,
    max_restarts: int = 3,
    retries: int = 2,
    max_observation_chars: int | None = None,
) -> HttpServer:
    """Declare an MCP server reached over streamable HTTP at `url` (e.g. `http://127.0.0.1:8000/mcp`).

    `headers` (e.g. an authorization token) are sent with every request and never recorded. A transport
    error is retried with exponential backoff up to `retries` times, for idempotent tools only.
    `name` defaults to the URL's host and port.
    """
    parts = urlsplit(url if isinstance(url, str) else "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"MCP server URL must be http:// or https:// with a host (got {url!r})")
    if retries < 0:
        raise ConfigError(f"retries must be >= 0 (got {retries})")
    host = f"{parts.hostname}_{parts.port}" if parts.port else parts.hostname
    server_name = name or re.sub(r"[^A-Za-z0-9_.-]", "_", host)[:64]
    return HttpServer(
        url=url,
        headers=_pairs(headers, "headers", server_name),
        retries=retries,
        trusted=trusted,
        accept_changes=accept_changes,
        max_observation_chars=max_observation_chars,
        **_common(server_name, prefix, include, exclude, timeout_s, start_timeout_s, max_restarts),
    )


def safe_url(url: str) -> str:
    """`url` without user info and with any query replaced by `?...`: fit for logs and records."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}" + ("?..." if parts.query else "")


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def from_description(described: Mapping[str, Any]) -> McpServer:
    """The declaration `describe()` described, to connect it again (a resumed run). What a description leaves
    out comes back from where it can: environment variables named in `env_keys` from this process's
    environment (a missing one is a `ConfigError` naming it); header values cannot, so a server declared with
    headers must be given again (a `ConfigError` says so). A URL's query, left out of records, is gone too."""
    options: dict[str, Any] = {
        k: described[k]
        for k in ("name", "prefix", "include", "exclude", "trusted", "timeout_s", "accept_changes")
        if k in described
    }
    if described.get("transport") == "stdio":
        env = {}
        for key in described.get("env_keys") or ():
            if key not in os.environ:
                raise ConfigError(
                    f"MCP server {described.get('name')!r} needs the environment variable {key} "
                    "(its value is never recorded): set it, or give the server again"
                )
            env[key] = os.environ[key]
        return stdio(
            described["command"],
            described.get("args") or (),
            env=env or None,
            cwd=described.get("cwd"),
            **options,
        )
    if described.get("transport") == "http":
        if described.get("header_keys"):
            raise ConfigError(
                f"MCP server {described.get('name')!r} was declared with headers "
                f"({', '.join(described['header_keys'])}), which are never recorded: give it again"
            )
        return http(described["url"], **options)
    raise ConfigError(f"not a recorded MCP server: {dict(described)!r}")
