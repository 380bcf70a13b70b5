"""The hardened container: what every sandbox container is created with, from a `Policy`.

- no network (`network_mode="none"`) unless the policy allows it (then the engine's default bridge);
- read-only root filesystem; writable only: the work dir `/work` (a size-capped tmpfs volume, shared by a
  run's containers) and `/tmp` (a size-capped tmpfs of this container);
- user 65534:65534 (nobody), every capability dropped, `no-new-privileges`, the engine's default seccomp
  profile (never disabled), private IPC;
- pids, memory (memory + swap = memory: no swap) and CPU limits; core dumps off, 1024 open files;
- the `none` log driver (output is never stored by the engine), no Docker socket, no host mounts, no device,
  and a fixed minimal environment: nothing of the host's environment enters;
- the runner reads requests on stdin (`stdin_once`: when the owning process goes away, stdin closes, the
  runner exits and the container removes itself: `auto_remove`);
- `runtime="runsc"` (gVisor) when the policy asks for it.
"""

from __future__ import annotations

from typing import Any

from agentflow.sandbox.policy import Policy

__all__ = ["SANDBOX_ENV", "SANDBOX_USER", "WORK_DIR", "container_spec", "volume_spec"]

SANDBOX_USER = "65534:65534"
WORK_DIR = "/work"
RUNNER = ["python3", "-I", "-B", "/opt/agentflow/runner.py"]
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORK_DIR,
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLCONFIGDIR": "/tmp",
    "OPENBLAS_NUM_THREADS": "1",
}


def container_spec(
    client: Any, policy: Policy, *, image: str, volume: str, labels: dict[str, str]
) -> dict[str, Any]:
    """Keyword arguments for `client.api.create_container` (docker SDK, low-level: it is the one that sets
    `StdinOnce`, for an attached, non-detached stdin)."""
    from docker.types import LogConfig, Mount, Ulimit

    uid, gid = SANDBOX_USER.split(":")
    host_config = client.api.create_host_config(
        network_mode="none" if policy.network == "none" else "bridge",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        ipc_mode="private",
        pids_limit=policy.pids,
        mem_limit=f"{policy.memory_mb}m",
        memswap_limit=f"{policy.memory_mb}m",
        nano_cpus=int(policy.cpus * 1e9),
        ulimits=[Ulimit(name="core", soft=0, hard=0), Ulimit(name="nofile", soft=1024, hard=1024)],
        tmpfs={"/tmp": f"size={policy.tmp_mb}m,uid={uid},gid={gid},mode=1777,nosuid,nodev"},
        # no_copy: else the engine copies the image's /work (root-owned) into a still-empty volume when a
        # second container mounts it, taking the run's work dir away from the sandbox user
        mounts=[Mount(target=WORK_DIR, source=volume, type="volume", no_copy=True)],
        log_config=LogConfig(type="none"),
        auto_remove=True,
        privileged=False,
        runtime=None if policy.runtime == "runc" else policy.runtime,
    )
    return {
        "image": image,
        "command": RUNNER,
        "user": SANDBOX_USER,
        "working_dir": WORK_DIR,
        "environment": dict(SANDBOX_ENV),
        "hostname": "sandbox",
        "stdin_open": True,
        "detach": False,  # with stdin_open: AttachStdin and StdinOnce
        "tty": False,
        "network_disabled": policy.network == "none",
        "labels": labels,
        "host_config": host_config,
    }


def volume_spec(policy: Policy, *, labels: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments for `client.volumes.create`: a tmpfs volume of `work_dir_mb`, owned by the sandbox
    user. It lives while a container mounts it (its content goes when the last one does)."""
    uid, gid = SANDBOX_USER.split(":")
    return {
        "driver": "local",
        "driver_opts": {
            "type": "tmpfs",
            "device": "tmpfs",
            "o": f"size={policy.work_dir_mb}m,uid={uid},gid={gid},mode=0700,nosuid,nodev",
        },
        "labels": labels,
    }
