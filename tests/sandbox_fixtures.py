"""Fixtures for the sandbox tests (tests/sandbox, the sandbox tools, the CLI), which run against a real Docker
engine: no mocks of Docker. Loaded for every test directory by tests/conftest.py (`pytest_plugins`).

Without an engine (or without the image) these tests skip, naming what to install or build — except under
CI (`CI=true` or `AGENTFLOW_REQUIRE_SANDBOX=1`), where they fail: CI must never pass by skipping them.
`scripts/test` starts a private engine when dockerd is installed; `.ci/run` installs, starts and builds.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from agentflow.exceptions import SandboxUnavailableError
from agentflow.sandbox import Policy, Sandbox, SandboxPool, image_tag
from agentflow.sandbox.ownership import LABEL_OWNER, owner_token

REPO = Path(__file__).resolve().parents[1]
REQUIRED = os.environ.get("CI") == "true" or os.environ.get("AGENTFLOW_REQUIRE_SANDBOX") == "1"


def unavailable(message: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"CI requires the sandbox engine and image: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client() -> Any:
    from agentflow.sandbox.engine import connect

    try:
        return connect(timeout_s=30)
    except SandboxUnavailableError as exc:
        unavailable(f"sandbox tests need a Docker engine: {exc}")


@pytest.fixture(scope="session")
def sandbox_image(docker_client: Any) -> str:
    from agentflow.sandbox.image import image_present

    tag = image_tag()
    if not image_present(docker_client, tag):
        unavailable(f"sandbox tests need the image {tag}: agentflow sandbox build (root, debootstrap)")
    return tag


@pytest.fixture(scope="session")
def pool(sandbox_image: str, docker_client: Any) -> Iterator[SandboxPool]:
    """One warm pool for the session; at the end nothing this process made may be left in the engine."""
    pool = SandboxPool(warm=1, client=docker_client)
    yield pool
    pool.close()
    mine = {LABEL_OWNER: owner_token()}
    left = docker_client.api.containers(all=True, filters={"label": [f"{k}={v}" for k, v in mine.items()]})
    volumes = docker_client.api.volumes(filters={"label": [f"{k}={v}" for k, v in mine.items()]})["Volumes"]
    assert not left and not volumes, f"sandbox containers / volumes left behind: {left} {volumes}"


@pytest.fixture
def global_pool(pool: SandboxPool) -> Iterator[SandboxPool]:
    """The session pool installed as the process-wide one (what `sandbox_for(ctx)` and the runner use)."""
    from agentflow.sandbox import set_pool

    previous = set_pool(pool)
    yield pool
    set_pool(previous)


@pytest.fixture
def sandbox(pool: SandboxPool) -> Iterator[Sandbox]:
    """A fresh run's sandbox under the default policy; its containers go when the test ends."""
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    yield Sandbox(pool, run_id=run_id, policy=Policy())
    pool.release_run(run_id)


@pytest.fixture
def new_sandbox(pool: SandboxPool) -> Iterator[Callable[..., Sandbox]]:
    """Makes sandboxes of fresh runs (`new_sandbox(policy=..., pool=...)`); released when the test ends."""
    made: list[Sandbox] = []

    def make(policy: Policy | None = None, *, in_pool: SandboxPool | None = None) -> Sandbox:
        sandbox = Sandbox(in_pool or pool, run_id=f"test-{uuid.uuid4().hex[:10]}", policy=policy or Policy())
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.pool.release_run(sandbox.run_id)


@pytest.fixture(scope="module")
def second_engine(
    tmp_path_factory: pytest.TempPathFactory, docker_client: Any, sandbox_image: str
) -> Iterator[str]:
    """A private Docker engine of this module's own (so a test may stop it), with the sandbox image loaded.
    It runs in a network namespace of its own: it cannot disturb the main engine's bridge or iptables."""
    import shutil

    if shutil.which("dockerd") is None:
        unavailable("this test starts its own engine: sudo apt-get install -y docker.io")
    if os.geteuid() != 0:
        pytest.skip("starting a second Docker engine needs root")
    home = tmp_path_factory.mktemp("engine")
    env = {**os.environ, "AGENTFLOW_DOCKERD_DIR": str(home), "AGENTFLOW_DOCKERD_NETNS": "1"}
    script = str(REPO / "scripts" / "dockerd.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        unavailable(f"could not start a second engine: {started.stderr.strip()[-500:]}")
    host = started.stdout.strip().removeprefix("export DOCKER_HOST=")
    try:
        import docker

        second = docker.DockerClient(base_url=host, timeout=120)
        try:
            second.images.load(docker_client.images.get(sandbox_image).save(named=True))
        finally:
            second.close()
        yield host
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, text=True)


async def wait_running(client: Any, pool: SandboxPool, run_id: str) -> str:
    """Until one of the run's containers runs code (more than the runner in it); returns its id."""
    import anyio

    with anyio.fail_after(30):
        while True:
            for container_id in pool.containers(run_id):
                if len(client.api.top(container_id)["Processes"]) >= 2:
                    return container_id
            await anyio.sleep(0.05)


def stop_engine(host: str) -> None:
    """Stop the second engine (SIGTERM; returns once it has exited)."""
    home = host.removeprefix("unix://").rsplit("/", 1)[0]
    subprocess.run(
        [str(REPO / "scripts" / "dockerd.sh"), "stop"],
        env={**os.environ, "AGENTFLOW_DOCKERD_DIR": home},
        check=True,
        capture_output=True,
    )
