"""The process-wide pool: `sandbox_for`, `preflight` before any model call, `release_run` at a run's end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import agentflow
from agentflow import RunContext, Runner
from agentflow.exceptions import SandboxUnavailableError
from agentflow.sandbox import (
    Policy,
    SandboxPool,
    default_policy,
    preflight,
    registry,
    release_run,
    sandbox_for,
    set_pool,
)
from agentflow.testing import FunctionModel
from agentflow.toolkit import DEFAULT_TOOLS, SANDBOX_TOOLS

from helpers import final

pytestmark = pytest.mark.anyio


@pytest.fixture
def no_pool() -> Iterator[None]:
    """No process-wide pool for the test (the previous one is put back after)."""
    previous = set_pool(None)
    yield
    made = set_pool(previous)
    if made is not None:
        made.close()


def test_sandbox_for_is_the_runs_sandbox(global_pool: SandboxPool) -> None:
    """A tool's RunContext leads to its run's sandbox under the default policy, or the policy given."""
    ctx = RunContext(run_id="r-123")
    sandbox = sandbox_for(ctx)
    assert sandbox.run_id == "r-123" and sandbox.policy == default_policy() and sandbox.pool is global_pool
    assert sandbox_for(ctx, Policy(pids=16)).policy.pids == 16


async def test_release_run_without_a_pool_does_not_make_one(no_pool: None) -> None:
    """A process that never used a sandbox pays nothing at a run's end: no pool, no engine contact."""
    await release_run("never-used")
    assert registry._pool is None


async def test_a_graph_without_sandbox_tools_never_touches_the_engine(
    no_pool: None, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs of graphs without sandbox tools work with no engine at all."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = await agentflow.run(
        agentflow.react_graph(DEFAULT_TOOLS),
        "hi",
        model=FunctionModel(lambda request: final("hello")),
        db=db_path,
    )
    assert result.ok and registry._pool is None


async def test_no_engine_fails_the_run_before_any_model_call(
    no_pool: None, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph with sandbox tools and no engine raises SandboxUnavailableError naming how to start one; the
    model is never asked."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    asked: list[object] = []
    model = FunctionModel(lambda request: asked.append(request) or final("should not happen"))
    async with Runner(db_path) as runner:
        with pytest.raises(SandboxUnavailableError, match=r"scripts/dockerd\.sh start"):
            await runner.run(agentflow.react_graph(SANDBOX_TOOLS), "compute", model=model)
    assert asked == []


async def test_a_missing_image_fails_the_preflight_naming_the_build(
    docker_client: object, no_pool: None
) -> None:
    """An engine without the policy's image: the preflight names the image and how to get it."""
    set_pool(SandboxPool(client=docker_client, reap=False))
    with pytest.raises(
        SandboxUnavailableError, match="agentflow-sandbox:does-not-exist is not in the Docker engine"
    ):
        await preflight([Policy(image="agentflow-sandbox:does-not-exist", reason="test")])
