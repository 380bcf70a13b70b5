"""`Worker`: executes queued runs (`Runner.enqueue`, `agentflow run --queue`) from a shared database.

    async with agentflow.Runner("postgresql://...") as runner:
        await agentflow.Worker(runner, concurrency=8).run()      # until stopped (stop.set(), or cancelled)

Several workers — processes on one machine or many — share one database: each claims up to `concurrency` runs at
a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer on one machine), oldest first, so they
share the load and never execute the same run. A claimed run is executed under a lease kept alive by a
heartbeat; if its worker dies (SIGKILL, a lost machine), the lease expires and another worker resumes the run
from its last checkpoint, the tool journal making sure no finished call runs twice. Workers also pick up a
run's cancel request at the next heartbeat.

Stopping: `stop` (an `anyio.Event`) makes the worker claim nothing more and return once its runs are done
(SIGTERM in `agentflow worker`); cancelling `run()` cancels its runs (recorded `cancelled`, resumable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import structlog

from agentflow.exceptions import LeaseLostError

if TYPE_CHECKING:
    from agentflow.runner import Runner
    from agentflow.store.base import Lease

__all__ = ["Worker"]

log = structlog.get_logger("agentflow.worker")


class Worker:
    """Claims queued runs from `runner`'s database and executes them, `concurrency` at a time."""

    def __init__(
        self, runner: Runner, *, concurrency: int = 4, poll_s: float = 0.5, max_runs: int | None = None
    ) -> None:
        if concurrency < 1:
            from agentflow.exceptions import ConfigError

            raise ConfigError(f"concurrency must be at least 1 (got {concurrency})")
        self.runner = runner
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.max_runs = max_runs
        self.executed = 0
        self._active = 0
        self._slot = anyio.Event()

    async def run(self, *, stop: anyio.Event | None = None) -> int:
        """Claim and execute runs until `stop` is set (or `max_runs` have been started); return how many runs
        this worker executed."""
        stop = stop or anyio.Event()
        started = 0
        async with anyio.create_task_group() as tg:
            while not stop.is_set() and (self.max_runs is None or started < self.max_runs):
                free = self.concurrency - self._active
                if self.max_runs is not None:
                    free = min(free, self.max_runs - started)
                leases = (
                    await self.runner.storage.claim_next(owner=self.runner.owner, limit=free) if free else []
                )
                for lease in leases:
                    self._active += 1
                    started += 1
                    tg.start_soon(self._execute, lease)
                if leases and self._active < self.concurrency:
                    continue  # there may be more
                await self._wait(stop)
        return self.executed

    async def _wait(self, stop: anyio.Event) -> None:
        """Until a slot frees, `poll_s` passes (new runs may have been queued) or `stop` is set."""
        self._slot = anyio.Event()
        with anyio.move_on_after(self.poll_s):
            async with anyio.create_task_group() as tg:

                async def until(event: anyio.Event) -> None:
                    await event.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(until, stop)
                tg.start_soon(until, self._slot)

    async def _execute(self, lease: Lease) -> None:
        log.info("executing a claimed run", run_id=lease.run_id)
        try:
            result = await self.runner.execute_claimed(lease)
            log.info("run stopped", run_id=lease.run_id, status=str(result.status))
        except LeaseLostError:
            log.warning("another process took the run over", run_id=lease.run_id)
        except Exception as exc:  # the run is recorded; a worker keeps working
            log.error("executing a run failed", run_id=lease.run_id, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.executed += 1
            self._active -= 1
            self._slot.set()
