"""Group commit: one thread and one connection write everything this process persists to a SQLite file.

Every write — a trace event, a journal mark, a checkpoint, a run record — is a request on one queue. The
writer thread takes all requests waiting, runs them in ONE transaction (each in its own savepoint, so a bad
request fails alone), writes each run's latest usage once, commits (one flush to disk), then wakes every
waiting caller with one callback per event loop. Under load many runs share a transaction and a flush; alone,
a write costs one hop to the thread and back.

Requests are executed in the order they were submitted, so awaiting one write means every earlier write of
this process is on disk too (a non-idempotent call's `started` mark carries the trace before it). A request
can be *fenced*: it applies only while the run's lease token in the database still equals the request's —
a process that lost its lease cannot write to the run any more (`LeaseLostError`). Requests nobody awaits
(trace events) that fail are reported at that run's next awaited write.

Durability: WAL with `synchronous=NORMAL` (the default) survives the process crashing at any point (SIGKILL
included): a committed transaction is in the WAL file. It does not survive the machine losing power between
the commit and the next checkpoint of the WAL; `synchronous=FULL` does, at the cost of an fsync per commit.

This is asyncio-only (as LangGraph is): waiters are asyncio futures resolved with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflow.exceptions import LeaseLostError, StoreError

__all__ = ["GroupCommitWriter", "WriteRequest"]


MAX_BATCH = 2000  # requests per transaction at most


@dataclass(slots=True)
class WriteRequest:
    """One write: `apply(conn)` runs inside the batch's transaction and returns the caller's result."""

    apply: Callable[[sqlite3.Connection], Any]
    run_id: str | None = None
    token: int | None = None  # fencing: apply only while runs.lease_token equals this
    usage: dict[str, Any] | None = None  # the run's usage as of this write (written once per batch)
    future: asyncio.Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None


@dataclass(slots=True)
class _Stats:
    transactions: int = 0
    requests: int = 0


@dataclass(slots=True)
class GroupCommitWriter:
    """Owns the file's write connection on its own thread. `start()`, then `write` / `submit`, then `close()`."""

    path: Path
    synchronous: str = "NORMAL"
    busy_timeout_ms: int = 30_000
    stats: _Stats = field(default_factory=_Stats)
    _queue: queue.SimpleQueue[WriteRequest | None] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = None
    _failed: dict[str, BaseException] = field(default_factory=dict)  # run id -> error of an unawaited write
    _ready: threading.Event = field(default_factory=threading.Event)
    _start_error: BaseException | None = None

    def start(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the connection on the writer thread and run `setup(conn)` there (pragmas, migrations)."""
        self._thread = threading.Thread(
            target=self._main, args=(setup,), name=f"agentflow-writer:{self.path.name}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error

    def close(self) -> None:
        """Finish every request already submitted, then stop the thread and close the connection."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    # ------------------------------------------------------------------------------------------ submitting

    def submit(self, request: WriteRequest) -> None:
        """Queue a request without waiting for it (its failure surfaces at the run's next awaited write)."""
        if self._thread is None or not self._thread.is_alive():
            raise StoreError(f"the writer of {self.path} is closed")
        self._queue.put(request)

    async def write(
        self,
        apply: Callable[[sqlite3.Connection], Any],
        *,
        run_id: str | None = None,
        token: int | None = None,
        usage: dict[str, Any] | None = None,
    ) -> Any:
        """Run `apply(conn)` in the next transaction and return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.submit(WriteRequest(apply, run_id, token, usage, future, loop))
        result = await future
        if run_id is not None and run_id in self._failed:
            raise self._failed.pop(run_id)
        return result

    async def flush(self, run_id: str | None = None) -> None:
        """Return once everything submitted so far is committed; raise what an unawaited write of `run_id`
        (or of any run, without one) failed with."""
        await self.write(lambda conn: None)
        failed = (
            self._failed.pop(run_id, None) if run_id is not None else next(iter(self._failed.values()), None)
        )
        if run_id is None:
            self._failed.clear()
        if failed is not None:
            raise failed

    # ------------------------------------------------------------------------------------------ the thread

    def _main(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            setup(conn)
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        except BaseException as exc:  # reported to start()'s caller
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._run_batch(conn, batch)
                if stop:
                    break
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[WriteRequest]) -> None:
        results: list[tuple[WriteRequest, Any, BaseException | None]] = []
        usage: dict[str, tuple[dict[str, Any], int | None]] = {}
        try:
            conn.execute("BEGIN IMMEDIATE")
            for request in batch:
                result, error = self._apply(conn, request)
                results.append((request, result, error))
                if error is None and request.run_id is not None and request.usage is not None:
                    usage[request.run_id] = (request.usage, request.token)
            for run_id, (values, token) in usage.items():
                conn.execute(
                    "UPDATE runs SET usage = ?, cost_usd = ?, wall_s = ? WHERE id = ?"
                    + (" AND lease_token = ?" if token is not None else ""),
                    (
                        json.dumps(values),
                        values.get("cost_usd", 0.0),
                        values.get("wall_s", 0.0),
                        run_id,
                        *((token,) if token is not None else ()),
                    ),
                )
            conn.execute("COMMIT")
        except BaseException as exc:  # the transaction as a whole failed (disk full, lock timeout, ...)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = _store_error(self.path, exc)
            results = [(request, None, error) for request in batch]
        self.stats.transactions += 1
        self.stats.requests += len(batch)
        self._resolve(results)

    def _apply(self, conn: sqlite3.Connection, request: WriteRequest) -> tuple[Any, BaseException | None]:
        conn.execute("SAVEPOINT request")
        try:
            if request.token is not None:
                row = conn.execute("SELECT lease_token FROM runs WHERE id = ?", (request.run_id,)).fetchone()
                if row is None or row[0] != request.token:
                    raise LeaseLostError(
                        f"run {request.run_id}: this process no longer holds its lease "
                        "(another process took the run over); nothing more is written"
                    )
            result = request.apply(conn)
            conn.execute("RELEASE request")
            return result, None
        except Exception as exc:
            conn.execute("ROLLBACK TO request")
            conn.execute("RELEASE request")
            return None, exc if not isinstance(exc, sqlite3.Error) else _store_error(self.path, exc)

    def _resolve(self, results: list[tuple[WriteRequest, Any, BaseException | None]]) -> None:
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]
        ] = {}
        for request, result, error in results:
            if request.future is None or request.loop is None:
                if error is not None:
                    if request.run_id is not None:
                        self._failed.setdefault(request.run_id, error)
                    import structlog

                    structlog.get_logger("agentflow.store").error(
                        "a queued write failed", run_id=request.run_id, error=str(error)
                    )
                continue
            by_loop.setdefault(request.loop, []).append((request.future, result, error))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass


def _settle(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in items:
        if future.done():  # the waiter was cancelled
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _store_error(path: Path, exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.Error):
        return StoreError(f"writing {path} failed: {exc}")
    return exc
