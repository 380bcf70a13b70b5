"""`Database`: a psycopg connection pool with the retries that keep a run consistent through server trouble.

Every transaction learns its id first (`txid_current()`). When the connection breaks — the server restarts, a
connection is dropped, the network blips — the transaction is retried on another connection, with backoff,
until `retry_s` has passed: before COMMIT was sent nothing was applied, so a retry is safe; when the connection
broke *during* COMMIT, the outcome is looked up (`txid_status`) instead of guessed, so a write is never applied
twice nor reported lost when it was not. Deadlocks and serialization failures are retried the same way. What
remains after the retry window is a `DatabaseUnavailableError`; so is a pool whose connections all stay busy
past `pool_timeout` (`pool_size` sets how many there are). Other database errors are bugs or bad data: a
`StoreError` naming the database.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import psycopg
import psycopg.errors
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentflow.exceptions import DatabaseUnavailableError, StoreError
from agentflow.store.url import DatabaseURL

__all__ = ["Database", "fetch", "retryable"]

T = TypeVar("T")

Conn = psycopg.AsyncConnection[Any]


def retryable(exc: BaseException) -> bool:
    """Whether a failed transaction may simply be tried again (nothing of it was applied)."""
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.InterfaceError
        | psycopg.errors.DeadlockDetected
        | psycopg.errors.SerializationFailure,
    ) and not isinstance(exc, psycopg.errors.QueryCanceled | psycopg.errors.InsufficientPrivilege)


class Database:
    """The pool and the retry rules (module docstring). `schema` is the PostgreSQL schema holding
    agentflow's tables (the connections' `search_path`)."""

    def __init__(
        self,
        url: DatabaseURL,
        *,
        schema: str = "agentflow",
        pool_size: int = 10,
        pool_timeout: float = 30.0,
        retry_s: float = 30.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.schema = schema
        self.retry_s = retry_s
        self.pool_timeout = pool_timeout
        self.pool = AsyncConnectionPool(
            url.url,
            min_size=min(2, pool_size),
            max_size=pool_size,
            open=False,
            timeout=pool_timeout,
            reconnect_timeout=max(retry_s, 1.0),
            kwargs={
                "autocommit": True,
                "options": f"-c search_path={schema}",
                "connect_timeout": max(1, int(connect_timeout)),
            },
            name="agentflow",
        )

    async def open(self) -> None:
        try:
            await self.pool.open(wait=True, timeout=self.retry_s)
        except PoolTimeout:
            await self.pool.close()
            raise DatabaseUnavailableError(
                f"cannot connect to {self.url} (nothing answered within {self.retry_s:g} s): is the server "
                "running, and are the host, port, user and database right?"
            ) from None

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Conn]:
        """A pooled connection, waiting at most `timeout` (default `pool_timeout`) for one."""
        wait = self.pool_timeout if timeout is None else min(timeout, self.pool_timeout)
        try:
            async with self.pool.connection(timeout=wait) as conn:
                yield conn
        except PoolTimeout:
            if self.pool.get_stats().get("pool_size", 0) < self.pool.max_size:  # it could not connect more
                raise DatabaseUnavailableError(
                    f"cannot get a connection to {self.url} within {wait:g} s: is the server running and "
                    "reachable?"
                ) from None
            raise DatabaseUnavailableError(
                f"{self.url}: all {self.pool.max_size} pooled connections stayed busy for "
                f"{wait:g} s (raise pool_size=, or lower the load)"
            ) from None

    def _unavailable(self, exc: BaseException, what: str) -> DatabaseUnavailableError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DatabaseUnavailableError(
            f"{self.url}: {what} failed for {self.retry_s:g} s of retries ({first}); the run is as its last "
            "committed write left it"
        )

    def _store_error(self, exc: BaseException, what: str) -> StoreError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreError(f"{what} in {self.url} failed: {first}")

    async def read(self, fn: Callable[[Conn], Awaitable[T]], *, what: str = "reading") -> T:
        """Run `fn(conn)` (reads only, or one idempotent statement); retried on a broken connection."""
        deadline = time.monotonic() + self.retry_s
        delay = 0.05
        while True:
            try:
                async with self.connection(max(0.1, deadline - time.monotonic())) as conn:
                    return await fn(conn)
            except psycopg.Error as exc:
                if not retryable(exc):
                    raise self._store_error(exc, what) from None
                if time.monotonic() + delay > deadline:
                    raise self._unavailable(exc, what) from None
            await anyio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def transact(self, fn: Callable[[Conn], Awaitable[T]], *, what: str = "writing") -> T:
        """Run `fn(conn)` in one transaction and commit it: retried on a broken connection, a deadlock or a
        serialization failure; a commit cut off mid-way is looked up, not redone (module docstring). `fn` may
        run more than once, so it must not keep state between attempts (its result is what counts)."""
        deadline = time.monotonic() + self.retry_s
        delay = 0.05
        while True:
            txid: int | None = None
            committing = False
            result: Any = None
            try:
                async with self.connection(max(0.1, deadline - time.monotonic())) as conn:
                    async with conn.transaction():
                        cursor = await conn.execute("SELECT txid_current()")
                        row = await cursor.fetchone()
                        txid = int(row[0]) if row else None
                        result = await fn(conn)
                        committing = True
                    return result
            except psycopg.Error as exc:
                if not retryable(exc):
                    raise self._store_error(exc, what) from None
                if committing and txid is not None and await self._committed(txid, deadline, what):
                    return result
                if time.monotonic() + delay > deadline:
                    raise self._unavailable(exc, what) from None
            await anyio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _committed(self, txid: int, deadline: float, what: str) -> bool:
        """Whether transaction `txid` committed (its connection broke during COMMIT)."""
        delay = 0.05
        while True:
            try:
                async with self.connection() as conn:
                    cursor = await conn.execute("SELECT txid_status(%s)", (txid,))
                    row = await cursor.fetchone()
                    return bool(row and row[0] == "committed")
            except psycopg.Error as exc:
                if not retryable(exc) or time.monotonic() + delay > deadline:
                    raise DatabaseUnavailableError(
                        f"{self.url}: {what}: the connection broke while committing and the outcome could "
                        f"not be looked up ({str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r})"
                    ) from None
            await anyio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def fetch(conn: Conn, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of `query`, as dicts."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return list(await cursor.fetchall())
