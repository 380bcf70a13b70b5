"""`doctor()`: can sandboxes run here, and if not, what to install or start (the exact commands).

Checks, in order: the docker SDK, the engine at `DOCKER_HOST` (or the default socket), the sandbox image of
the current definitions, the engine's seccomp support, gVisor (`runsc`: installed, registered with the
engine; optional), and what building the image needs (debootstrap, root). `ready` means an execution under
the default policy can run now.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any, Literal

from agentflow.exceptions import SandboxUnavailableError

__all__ = ["Check", "DoctorReport", "doctor"]

Status = Literal["ok", "missing", "warning", "info"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorReport:
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        return not any(c.status == "missing" for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": [c.as_dict() for c in self.checks]}

    def lines(self) -> list[str]:
        marks = {"ok": "ok  ", "missing": "FAIL", "warning": "warn", "info": "info"}
        out = []
        for check in self.checks:
            out.append(f"[{marks[check.status]}] {check.name}: {check.detail}")
            if check.fix:
                out.append(f"       fix: {check.fix}")
        out.append("ready: sandboxes can run" if self.ready else "not ready: fix the FAIL lines above")
        return out


def doctor() -> DoctorReport:
    """Run every check (never raises for a missing piece: that is what the report says)."""
    from agentflow.sandbox.engine import connect, engine_info, install_hint, start_hint

    checks: list[Check] = []
    try:
        import docker

        checks.append(Check(name="docker SDK", status="ok", detail=f"docker {docker.__version__}"))
    except ImportError:
        checks.append(
            Check(
                name="docker SDK",
                status="missing",
                detail="the docker Python package is not installed",
                fix="pip install 'agentflow[sandbox]'",
            )
        )
        return DoctorReport(checks=tuple(checks))
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST unset)"
    try:
        client = connect(timeout_s=10)
        info = engine_info(client)
    except SandboxUnavailableError:
        installed = shutil.which("dockerd") is not None
        checks.append(
            Check(
                name="engine",
                status="missing",
                detail=f"nothing answers at {where}",
                fix=start_hint() if installed else install_hint() + "; then " + start_hint(),
            )
        )
        _gvisor_host(checks)
        return DoctorReport(checks=tuple(checks))
    try:
        _engine_checks(checks, client, info)
    finally:
        client.close()
    return DoctorReport(checks=tuple(checks))


def _engine_checks(checks: list[Check], client: Any, info: Any) -> None:
    from agentflow.sandbox.image import base_tag, image_present, image_tag

    checks.append(
        Check(
            name="engine",
            status="ok",
            detail=f"Docker {info.server_version} (API {info.api_version}) at {info.host}, "
            f"cgroup v{info.cgroup_version}",
        )
    )
    tag = image_tag()
    if image_present(client, tag):
        checks.append(Check(name="image", status="ok", detail=tag))
    else:
        base = "present" if image_present(client, base_tag()) else "missing"
        checks.append(
            Check(
                name="image",
                status="missing",
                detail=f"{tag} is not built (base {base_tag()}: {base})",
                fix="agentflow sandbox build (a few minutes, once; needs root and debootstrap)",
            )
        )
    checks.append(
        Check(
            name="seccomp",
            status="ok" if info.seccomp else "warning",
            detail="the engine applies its default seccomp profile"
            if info.seccomp
            else "the engine reports no seccomp support: sandboxes run without a syscall filter",
            fix=None if info.seccomp else "use an engine built with seccomp (Debian's docker.io is)",
        )
    )
    if info.has_gvisor:
        checks.append(
            Check(
                name="gVisor",
                status="ok",
                detail="runtime 'runsc' is registered: policies may use runtime = \"runsc\"",
            )
        )
    else:
        _gvisor_host(checks, registered=False)
    if not image_present(client, tag):
        debootstrap = shutil.which("debootstrap") or (
            "/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None
        )
        checks.append(
            Check(
                name="debootstrap",
                status="ok" if debootstrap else "missing",
                detail=debootstrap or "needed to build the image",
                fix=None if debootstrap else "sudo apt-get install -y debootstrap",
            )
        )
        if os.geteuid() != 0:
            checks.append(
                Check(
                    name="root",
                    status="warning",
                    detail="building the base image needs root",
                    fix="sudo agentflow sandbox build",
                )
            )


def _gvisor_host(checks: list[Check], *, registered: bool | None = None) -> None:
    runsc = shutil.which("runsc")
    register = (
        'add {"runtimes": {"runsc": {"path": "'
        + (runsc or "/usr/bin/runsc")
        + '", "runtimeArgs": ["--network=none"]}}} to the engine\'s daemon.json and restart it '
        "(scripts/dockerd.sh does this when runsc is installed)"
    )
    if runsc is None:
        checks.append(
            Check(
                name="gVisor",
                status="info",
                detail="optional: runsc is not installed",
                fix="sudo apt-get install -y runsc; then " + register,
            )
        )
    elif registered is False:
        checks.append(
            Check(
                name="gVisor",
                status="info",
                detail=f"optional: runsc is installed ({runsc}) but not registered with the engine",
                fix=register,
            )
        )
