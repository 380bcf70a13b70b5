"""Finding the Docker engine: a client for it (honouring `DOCKER_HOST`), what it offers, and what to do when
there is none.

Every failure to reach it is a `SandboxUnavailableError` whose message says what to install and the exact
command that starts it; nothing here raises a docker SDK exception.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from typing import Any

from agentflow.exceptions import SandboxUnavailableError

__all__ = [
    "EngineInfo",
    "connect",
    "engine_alive",
    "engine_errors",
    "engine_info",
    "install_hint",
    "start_hint",
]

CLIENT_TIMEOUT_S = 60
API_VERSION = "1.41"  # Docker Engine 20.10 (Debian bookworm's docker.io) and every later engine
MAX_POOL_SIZE = (
    64  # connections to the engine kept by one client (each warm container holds one attach stream)
)


def _where() -> str:
    host = os.environ.get("DOCKER_HOST")
    return (
        f"DOCKER_HOST={host}"
        if host
        else "the default socket unix:///var/run/docker.sock (DOCKER_HOST unset)"
    )


def install_hint() -> str:
    return (
        "install the Docker engine: sudo apt-get install -y docker.io (Debian / Ubuntu; elsewhere "
        "https://docs.docker.com/engine/install/) and the SDK: pip install 'agentflow[sandbox]'"
    )


def start_hint() -> str:
    return (
        "start it: sudo systemctl start docker, or on private paths without systemd: "
        'eval "$(scripts/dockerd.sh start)" in an agentflow checkout (dockerd -H unix:///tmp/d/docker.sock '
        "--data-root /tmp/d/data --exec-root /tmp/d/exec --pidfile /tmp/d/pid &, then "
        "export DOCKER_HOST=unix:///tmp/d/docker.sock)"
    )


def engine_errors() -> tuple[type[BaseException], ...]:
    """What the docker SDK raises when the engine refuses or is gone: its own errors and requests' (which it
    lets through when the connection fails)."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    return (DockerException, RequestException)


def connect(*, timeout_s: float = CLIENT_TIMEOUT_S) -> Any:
    """A `docker.DockerClient` for the engine at `DOCKER_HOST` (or the default socket), checked with a ping."""
    try:
        import docker
        from docker.errors import DockerException
        from requests.exceptions import RequestException
    except ImportError:
        raise SandboxUnavailableError(
            "sandboxes need the docker SDK: pip install 'agentflow[sandbox]'"
        ) from None
    _check_unix_socket(os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    client = None
    try:
        # a fixed API version: the SDK's version probe in the constructor would leak its socket on failure
        client = docker.from_env(version=API_VERSION, timeout=int(timeout_s), max_pool_size=MAX_POOL_SIZE)
        client.ping()
    except (DockerException, RequestException) as exc:
        if client is not None:
            client.close()
        raise SandboxUnavailableError(_unreachable(exc)) from None
    return client


def engine_alive(client: Any) -> bool:
    """Whether the engine behind `client` still accepts connections. For a unix socket this is probed with a
    socket of our own: the SDK leaks its socket when a connection is refused, so cleanup after the engine has
    gone asks this first. Other transports: True (their failures are reported by the call itself)."""
    path = getattr(getattr(client.api, "_custom_adapter", None), "socket_path", None)
    if not isinstance(path, str):
        return True
    try:
        _check_unix_socket("unix://" + path)
    except SandboxUnavailableError:
        return False
    return True


def _check_unix_socket(host: str) -> None:
    """Fail early (and without the SDK, which leaks its socket when a connect fails) if nothing listens."""
    if not host.startswith("unix://"):
        return
    path = host.removeprefix("unix://")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(5)
        probe.connect(path)
    except OSError as exc:
        raise SandboxUnavailableError(_unreachable(exc)) from None
    finally:
        probe.close()


def _unreachable(exc: BaseException) -> str:
    reason = str(exc).split("\n")[0][:200]
    if shutil.which("dockerd") is None:
        what = install_hint() + "; then " + start_hint()
    else:
        what = "the engine is installed but not answering; " + start_hint()
    return f"no Docker engine answers at {_where()} ({reason}): {what}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineInfo:
    """What the engine says about itself (the parts sandboxes care about)."""

    host: str
    server_version: str
    api_version: str
    runtimes: tuple[str, ...]
    cgroup_version: str
    security_options: tuple[str, ...]

    @property
    def has_gvisor(self) -> bool:
        return "runsc" in self.runtimes

    @property
    def seccomp(self) -> bool:
        return any("seccomp" in opt for opt in self.security_options)


def engine_info(client: Any) -> EngineInfo:
    """Ask the engine: version, runtimes (gVisor's `runsc` registered?), cgroup version, seccomp."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        info = client.info()
        version = client.version()
    except (DockerException, RequestException) as exc:
        raise SandboxUnavailableError(_unreachable(exc)) from None
    return EngineInfo(
        host=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock",
        server_version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        runtimes=tuple(sorted((info.get("Runtimes") or {}).keys())),
        cgroup_version=str(info.get("CgroupVersion", "1")),
        security_options=tuple(info.get("SecurityOptions") or ()),
    )
