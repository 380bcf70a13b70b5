"""The process-wide sandbox pool and the functions the tools and the run engine use.

- `sandbox_for(ctx, policy)`: the run's `Sandbox` (tools call this with their `RunContext`);
- `preflight(policies)`: before a graph that uses sandbox tools makes any model call: engine reachable,
  image present, runtime registered, else `SandboxUnavailableError` saying what to install and start;
  starts warming containers for those policies;
- `release_run(run_id)`: when a run's execution ends (succeeded, failed, cancelled, paused): its containers
  and work dir go. Costs nothing when the process never used a sandbox.

The pool is made on first use (`AGENTFLOW_SANDBOX_WARM` containers kept warm per policy, default 2; it reaps
sandboxes of dead processes when it first connects) and closed at interpreter exit. `set_pool` installs
another (tests, benchmarks, services that want their own settings).
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
from collections.abc import Iterable
from typing import Any

import anyio

from agentflow.exceptions import ConfigError
from agentflow.sandbox.policy import Policy, default_policy
from agentflow.sandbox.pool import DEFAULT_WARM, SandboxPool
from agentflow.sandbox.sandbox import Sandbox

__all__ = ["get_pool", "preflight", "release_run", "sandbox_for", "set_pool", "shutdown"]

_pool: SandboxPool | None = None
_lock = threading.Lock()
_atexit_registered = False


def _warm_from_env() -> int:
    text = os.environ.get("AGENTFLOW_SANDBOX_WARM")
    if text is None:
        return DEFAULT_WARM
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"AGENTFLOW_SANDBOX_WARM must be a whole number >= 0 (got {text!r})")
    return value


def get_pool() -> SandboxPool:
    """The process-wide pool (made on first use)."""
    global _pool, _atexit_registered
    with _lock:
        if _pool is None:
            _pool = SandboxPool(warm=_warm_from_env())
            if not _atexit_registered:
                atexit.register(_close_at_exit)
                _atexit_registered = True
        return _pool


def set_pool(pool: SandboxPool | None) -> SandboxPool | None:
    """Install `pool` as the process-wide pool (None: make one on next use); returns the previous one, which
    the caller closes if it should go."""
    global _pool, _atexit_registered
    with _lock:
        previous, _pool = _pool, pool
        if pool is not None and not _atexit_registered:
            atexit.register(_close_at_exit)
            _atexit_registered = True
    return previous


def _close_at_exit() -> None:
    pool = _pool
    if pool is not None:
        pool.close()


def sandbox_for(ctx: Any, policy: Policy | None = None) -> Sandbox:
    """The sandbox of the run `ctx` (a `RunContext`) belongs to, under `policy` (default: the default policy)."""
    return Sandbox(get_pool(), run_id=ctx.run_id, policy=policy or default_policy())


async def preflight(policies: Iterable[Policy] = ()) -> list[dict[str, Any]]:
    """Check that sandboxes can run under each policy (default: the default policy) and start warming
    containers for them. Raises `SandboxUnavailableError` naming what to install and how to start it.
    Returns the policies in force as plain data (`Policy.as_dict()` plus `digest`), for the run's trace."""
    pool = get_pool()
    checked = list(policies) or [default_policy()]
    for policy in checked:
        await anyio.to_thread.run_sync(functools.partial(pool.prewarm, policy, wait=False))
    return [{**policy.as_dict(), "digest": policy.digest} for policy in checked]


async def release_run(run_id: str) -> None:
    """Remove the run's sandbox containers and work dir (no-op if this process has no pool)."""
    pool = _pool
    if pool is None:
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(pool.release_run, run_id)


async def shutdown() -> None:
    """Close the process-wide pool: every container and volume it made is removed."""
    pool = set_pool(None)
    if pool is not None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(pool.close)
