"""`Sandbox`: one run's sandbox under one policy, the async API code runs through.

    sandbox = Sandbox(pool, run_id="r1", policy=Policy())
    await sandbox.write_file("data.csv", "a,b\\n1,2\\n")
    result = await sandbox.python("import pandas as pd; print(pd.read_csv('data.csv').sum())")
    result.stdout, result.exit_code, result.files

Executions of one run share the work dir (`/work`); each execution gets a container of its own for as long
as it runs. Outcomes of the code (non-zero exit, timeout, memory kill) are in the `ExecResult`; the engine
failing mid-execution is too (`killed_by="engine"`, `error`). Starting failures raise `SandboxError` /
`SandboxUnavailableError`; refused paths raise `SandboxPathError`. Docker calls run in worker threads; if the
caller is cancelled, the container in use is removed (its execution is abandoned, not left running).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

import anyio

from agentflow.exceptions import ConfigError
from agentflow.sandbox.channel import ChannelBroken, ChannelTimeout
from agentflow.sandbox.container import GRACE_S
from agentflow.sandbox.policy import Policy
from agentflow.sandbox.pool import Lease, SandboxPool
from agentflow.sandbox.result import ExecResult, FileContent, FileInfo, files_of

__all__ = ["Sandbox"]

T = TypeVar("T")


class _Call:
    """One blocking call in a worker thread, abandonable: the awaiting task may be cancelled meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lease: Lease | None = None
        self.abandoned = False

    def hold(self, lease: Lease) -> None:
        with self._lock:
            self.lease = lease
            abandoned = self.abandoned
        if abandoned:
            lease.container.remove()

    def abandon(self) -> None:
        with self._lock:
            self.abandoned = True
            lease = self.lease
        if lease is not None:
            threading.Thread(target=lease.container.remove, daemon=True).start()


class Sandbox:
    """The sandbox of run `run_id` under `policy` in `pool`. Cheap to create: containers come from the pool."""

    def __init__(self, pool: SandboxPool, *, run_id: str, policy: Policy) -> None:
        self.pool = pool
        self.run_id = run_id
        self.policy = policy

    async def python(
        self, code: str, *, files: Mapping[str, str | bytes] | None = None, timeout: float | None = None
    ) -> ExecResult:
        """Run Python 3 code (as `__main__`, in /work) after writing `files` (path -> content) there."""
        return await self._execute("python", code, files, timeout)

    async def shell(
        self, command: str, *, files: Mapping[str, str | bytes] | None = None, timeout: float | None = None
    ) -> ExecResult:
        """Run a bash command line in /work after writing `files` there."""
        return await self._execute("shell", command, files, timeout)

    async def write_file(self, path: str, content: str | bytes) -> FileInfo:
        """Write a file under /work (directories are made; `..`, absolute paths elsewhere, symlinks refused)."""
        data = content.encode() if isinstance(content, str) else content

        def write(call: _Call) -> FileInfo:
            return self._with_container(
                call, lambda lease: FileInfo(path=path, size=lease.container.write(path, data))
            )

        return await self._in_thread(write)

    async def read_file(self, path: str) -> FileContent:
        """Read a file under /work: at most the policy's `max_file_bytes` of it. Symlinks are not followed."""

        def read(call: _Call) -> FileContent:
            return self._with_container(
                call, lambda lease: lease.container.read(path).content(path, self.policy.max_file_bytes)
            )

        return await self._in_thread(read)

    async def list_files(self) -> tuple[FileInfo, ...]:
        """Regular files under /work with their sizes (at most 200)."""

        def listing(call: _Call) -> tuple[FileInfo, ...]:
            return self._with_container(call, lambda lease: files_of(lease.container.list().files))

        return await self._in_thread(listing)

    # -- internals -------------------------------------------------------------------------------------------
    async def _execute(
        self, kind: str, code: str, files: Mapping[str, str | bytes] | None, timeout: float | None
    ) -> ExecResult:
        timeout_s = self.policy.timeout_s if timeout is None else float(timeout)
        if not 0 < timeout_s <= self.policy.timeout_s:
            raise ConfigError(
                f"sandbox timeout must be > 0 and at most the policy's {self.policy.timeout_s:g} s "
                f"(got {timeout_s:g}); loosen the policy to allow more"
            )
        inputs = {path: (c.encode() if isinstance(c, str) else c) for path, c in (files or {}).items()}

        def execute(call: _Call) -> ExecResult:
            lease = self.pool.acquire(self.run_id, self.policy)
            call.hold(lease)
            try:
                for path, data in inputs.items():
                    lease.container.write(path, data)
                reply = lease.container.execute(kind, code, timeout_s=timeout_s)
            except ChannelTimeout:
                return ExecResult.failure(
                    f"the sandbox did not answer within {timeout_s + GRACE_S:g} s; its container was removed",
                    killed_by="timeout",
                    timed_out=True,
                    policy=self.policy.digest,
                )
            except ChannelBroken as exc:
                return ExecResult.failure(
                    f"sandbox engine failure mid-execution: {exc}", policy=self.policy.digest
                )
            finally:
                self.pool.give_back(lease)
            return ExecResult(
                stdout=reply.stdout,
                stderr=reply.stderr,
                exit_code=reply.exit_code,
                timed_out=reply.timed_out,
                killed_by=reply.killed_by,
                files=files_of(reply.files),
                files_complete=reply.files_complete,
                stdout_omitted=reply.stdout_omitted,
                stderr_omitted=reply.stderr_omitted,
                duration_s=reply.duration_s,
                error=reply.error,
                policy=self.policy.digest,
                warm=lease.warm,
            )

        return await self._in_thread(execute)

    def _with_container(self, call: _Call, action: Callable[[Lease], T]) -> T:
        from agentflow.exceptions import SandboxError

        lease = self.pool.acquire(self.run_id, self.policy)
        call.hold(lease)
        try:
            return action(lease)
        except ChannelBroken as exc:
            raise SandboxError(f"sandbox engine failure: {exc}") from None
        finally:
            self.pool.give_back(lease)

    async def _in_thread(self, func: Callable[[_Call], T]) -> T:
        call = _Call()
        try:
            return await anyio.to_thread.run_sync(func, call, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            call.abandon()
            raise

    def __repr__(self) -> str:
        return f"Sandbox(run_id={self.run_id!r}, policy={self.policy.describe()!r})"
