"""The sandbox image, built offline and named by the content hash of its definitions.

Two steps, each skipped when its tag already exists:
1. the base, `agentflow-sandbox-base:<hash of packages.txt>`: a Debian root filesystem made by `debootstrap
   --variant=minbase --include=<packages.txt>` (needs root and a Debian mirror, no registry), trimmed (apt
   caches, docs, man pages) and loaded with `docker import`;
2. the image, `agentflow-sandbox:<hash of all definitions>`: `sandboxes/Dockerfile` on the base, which only
   adds files (the in-container runner) and metadata, so the build needs no network.

Changing any definition changes the hash, so a stale image is never used; building again is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from agentflow.exceptions import SandboxError, SandboxUnavailableError
from agentflow.sandbox.engine import engine_errors

__all__ = [
    "BASE_REPO",
    "IMAGE_REPO",
    "BuildReport",
    "base_tag",
    "build_image",
    "image_present",
    "image_tag",
    "read_packages",
]

IMAGE_REPO = "agentflow-sandbox"
BASE_REPO = "agentflow-sandbox-base"
HASH_LABEL = "agentflow.sandbox.hash"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# what debootstrap is asked for besides the package list: part of the base's hash
_RECIPE = f"debootstrap --variant=minbase {SUITE}; trim: apt caches, lists, docs, man, info, locales; v1"
_TRIM = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
)


def _definitions() -> Traversable:
    return resources.files("agentflow.sandboxes")


def read_packages() -> list[str]:
    """The Debian packages of the base image (`sandboxes/packages.txt`, comments and blanks dropped)."""
    text = _definitions().joinpath("packages.txt").read_text(encoding="utf-8")
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _image_files() -> list[tuple[str, bytes]]:
    root = _definitions()
    files = [("Dockerfile", root.joinpath("Dockerfile").read_bytes())]
    for entry in sorted(root.joinpath("image").iterdir(), key=lambda e: e.name):
        if entry.is_file() and not entry.name.endswith(".pyc"):
            files.append((f"image/{entry.name}", entry.read_bytes()))
    return files


def _base_hash() -> str:
    text = _RECIPE + "\n" + "\n".join(read_packages())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_tag() -> str:
    return f"{BASE_REPO}:{_base_hash()}"


def image_tag() -> str:
    """The tag of the image the current definitions describe."""
    digest = hashlib.sha256(_base_hash().encode())
    for name, data in _image_files():
        digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(data).digest())
    return f"{IMAGE_REPO}:{digest.hexdigest()[:12]}"


def image_present(client: Any, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    except engine_errors() as exc:
        raise SandboxError(f"the Docker engine failed while looking for image {tag}: {exc}") from None
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildReport:
    tag: str
    base: str
    built_base: bool
    built_image: bool
    seconds: float


def build_image(
    client: Any,
    *,
    force: bool = False,
    mirror: str | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> BuildReport:
    """Build what is missing (the base, then the image); `force` rebuilds both. Returns what was done."""
    started = time.monotonic()
    base, tag = base_tag(), image_tag()
    built_base = built_image = False
    if force or not image_present(client, base):
        _build_base(client, base, mirror or os.environ.get("AGENTFLOW_SANDBOX_MIRROR") or DEFAULT_MIRROR, log)
        built_base = True
    else:
        log(f"base image {base} is up to date")
    if force or built_base or not image_present(client, tag):
        _build_top(client, base, tag, log)
        built_image = True
    else:
        log(f"image {tag} is up to date")
    return BuildReport(
        tag=tag, base=base, built_base=built_base, built_image=built_image, seconds=time.monotonic() - started
    )


def _build_base(client: Any, base: str, mirror: str, log: Callable[[str], None]) -> None:
    debootstrap = shutil.which("debootstrap") or next(
        (p for p in ("/usr/sbin/debootstrap", "/sbin/debootstrap") if os.path.exists(p)), None
    )
    if debootstrap is None:
        raise SandboxUnavailableError(
            "building the sandbox base image needs debootstrap: sudo apt-get install -y debootstrap"
        )
    if os.geteuid() != 0:
        raise SandboxUnavailableError(
            "debootstrap must run as root to build the sandbox base image: sudo agentflow sandbox build"
        )
    packages = read_packages()
    with tempfile.TemporaryDirectory(
        prefix="agentflow-sandbox-build-", dir=os.environ.get("AGENTFLOW_SANDBOX_BUILD_DIR")
    ) as tmp:
        root = Path(tmp) / "root"
        command = [
            debootstrap,
            "--variant=minbase",
            f"--include={','.join(packages)}",
            SUITE,
            str(root),
            mirror,
        ]
        log("$ " + " ".join(command))
        _run(command, log, "debootstrap")
        for rel in _TRIM:
            path = root / rel
            if path.is_dir():
                shutil.rmtree(path)
                path.mkdir(mode=0o755)
        tarball = Path(tmp) / "root.tar"
        log(f"packing the root filesystem and importing it as {base}")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], log, "tar")
        repository, _, tag = base.partition(":")
        try:
            client.api.import_image(src=str(tarball), repository=repository, tag=tag)
        except engine_errors() as exc:
            raise SandboxError(f"docker import of the sandbox base image failed: {exc}") from None


def _run(command: list[str], log: Callable[[str], None], what: str) -> None:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip("\n")
            log(line)
            tail = [*tail[-19:], line]
    if proc.returncode != 0:
        raise SandboxError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def _build_top(client: Any, base: str, tag: str, log: Callable[[str], None]) -> None:
    from docker.errors import BuildError

    log(f"building {tag} on {base}")
    with tempfile.TemporaryDirectory(prefix="agentflow-sandbox-context-") as tmp:
        for name, data in _image_files():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            _, lines = client.images.build(
                path=tmp,
                tag=tag,
                buildargs={"BASE": base},
                rm=True,
                forcerm=True,
                network_mode="none",
                pull=False,
                labels={HASH_LABEL: tag},
            )
            for entry in lines:
                if "stream" in entry and entry["stream"].strip():
                    log(entry["stream"].rstrip("\n"))
        except BuildError as exc:
            raise SandboxError(f"building {tag} failed: {exc.msg}") from None
        except engine_errors() as exc:
            raise SandboxError(f"building {tag} failed: {exc}") from None
