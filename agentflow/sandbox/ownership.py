"""Who owns a sandbox container or volume, and removing those whose owner died (`reap_orphans`).

Every container and volume agentflow creates carries labels: `agentflow.sandbox` (marks ours), the owner
(`host:pid:start`, the process start time telling a reused pid apart), the policy digest and, for containers
created for a run, the run id. Warm containers are created before any run takes them and labels cannot be
changed after creation, so a run's warm container is renamed `agentflow-sbx-<run id>-<n>` when the run takes
it. A process killed with SIGKILL cannot clean up: its containers usually remove themselves (their runner
sees stdin close), and whatever is left is removed by `reap_orphans()` on the next start. Only owners on
this host are judged; a container of another host sharing the engine is left alone.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = [
    "LABEL",
    "LABEL_OWNER",
    "LABEL_POLICY",
    "LABEL_RUN",
    "ReapReport",
    "owner_alive",
    "owner_labels",
    "owner_token",
    "reap_orphans",
    "remove_container",
    "remove_volume",
    "run_container_name",
]

LABEL = "agentflow.sandbox"
LABEL_OWNER = "agentflow.sandbox.owner"
LABEL_POLICY = "agentflow.sandbox.policy"
LABEL_RUN = "agentflow.sandbox.run"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: fields after the last ')'
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


@cache
def owner_token() -> str:
    """`host:pid:start` of this process (cached: computed once per process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or '?'}"


def owner_labels(policy_digest: str, run_id: str | None = None) -> dict[str, str]:
    labels = {LABEL: "1", LABEL_OWNER: _current_token(), LABEL_POLICY: policy_digest}
    if run_id is not None:
        labels[LABEL_RUN] = run_id
    return labels


def _current_token() -> str:
    token = owner_token()
    if token.split(":")[1] != str(os.getpid()):  # a forked child: not the cached owner
        owner_token.cache_clear()
        token = owner_token()
    return token


def run_container_name(run_id: str, n: int) -> str:
    """A container name carrying the run id (Docker names allow [a-zA-Z0-9_.-])."""
    safe = re.sub(r"[^a-zA-Z0-9_.-]", "-", run_id)[:64] or "run"
    return f"agentflow-sbx-{safe}-{n}"


def owner_alive(token: str) -> bool | None:
    """True / False for an owner on this host; None when the token is another host's (or unreadable)."""
    host, _, rest = token.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start and start != "?":
        current = _start_time(pid)
        if current is not None and current != start:
            return False  # the pid was reused by another process
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class ReapReport:
    containers: tuple[str, ...]
    volumes: tuple[str, ...]


def remove_container(client: Any, container_id: str, *, wait_s: float = 15.0) -> None:
    """Force-remove a container and wait until it is gone (its volumes are free then). Gone already: fine."""
    from docker.errors import APIError, NotFound

    from agentflow.sandbox.engine import engine_alive

    if not engine_alive(client):  # the engine is gone, and its containers with it
        return
    try:
        client.api.remove_container(container_id, force=True)
    except NotFound:
        return
    except APIError as exc:
        if exc.status_code != 409:  # 409: a removal is already in progress (auto-remove)
            raise
    try:  # until it is really gone (an auto-removing container holds its volume a little longer)
        client.api.wait(container_id, timeout=wait_s, condition="removed")
    except NotFound:
        pass
    except Exception:
        pass


def remove_volume(client: Any, name: str) -> None:
    from docker.errors import NotFound

    from agentflow.sandbox.engine import engine_alive

    if not engine_alive(client):
        return
    try:
        client.api.remove_volume(name)
    except NotFound:
        pass


def reap_orphans(client: Any) -> ReapReport:
    """Remove the sandbox containers and volumes whose owning process (on this host) is dead."""
    from docker.errors import APIError

    removed_containers: list[str] = []
    for container in client.api.containers(all=True, filters={"label": LABEL}):
        if owner_alive((container.get("Labels") or {}).get(LABEL_OWNER, "")) is False:
            remove_container(client, container["Id"])
            removed_containers.append((container.get("Names") or [container["Id"][:12]])[0].lstrip("/"))
    removed_volumes: list[str] = []
    for volume in client.api.volumes(filters={"label": LABEL}).get("Volumes") or []:
        if owner_alive((volume.get("Labels") or {}).get(LABEL_OWNER, "")) is False:
            try:
                remove_volume(client, volume["Name"])
                removed_volumes.append(volume["Name"])
            except APIError as exc:
                if exc.status_code != 409:  # 409: in use by a container of a live owner (cannot be ours)
                    raise
    return ReapReport(containers=tuple(removed_containers), volumes=tuple(removed_volumes))
