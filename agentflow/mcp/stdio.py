"""The stdio transport: an MCP server as a subprocess speaking newline-delimited JSON-RPC.

Why not `mcp.client.stdio`: agentflow needs an explicit environment (PATH and what the user lists, where the
SDK adds HOME, USER, SHELL, ...), the server's stderr in the log rather than on the terminal (with a tail kept
for error messages), the exit code, and a fast failure when a server prints something that is not JSON-RPC.

The server runs in its own process group (a new session). Closing — on exit, error or cancellation, always
shielded and bounded — closes stdin, gives the server a moment to exit, then SIGTERMs and SIGKILLs the
whole group, so grandchildren go too. Groups still alive at interpreter exit are killed by an `atexit` hook.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import anyio.abc
import mcp_types
from mcp.shared.message import SessionMessage

from agentflow.exceptions import McpStartError
from agentflow.mcp.servers import StdioServer

__all__ = ["StdioProcess", "open_stdio"]

STDERR_TAIL_LINES = 20
EXIT_GRACE_S = 1.0  # after stdin closes, before SIGTERM to the group
TERM_GRACE_S = 1.0  # after SIGTERM, before SIGKILL
_REAP_S = 2.0
_FLUSH_S = 0.5
_MAX_LINE_BYTES = 64 * 1024 * 1024
_live_groups: set[int] = set()
_atexit_registered = False


class StdioProcess:
    """A running stdio server: its pid (also its process group), exit code, stderr tail, and `failed`, set
    when the server exited or printed something that is not JSON-RPC (the session is unusable then)."""

    def __init__(self, server: StdioServer, process: anyio.abc.Process, logger: Any) -> None:
        self.server = server
        self.process = process
        self.pid = process.pid
        self.logger = logger
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.garbage: str | None = None
        self.failed = anyio.Event()
        self.stderr_done = anyio.Event()
        self.stdout_closed = anyio.Event()
        self.handshake_done = False
        self.secrets = sorted({v for _, v in server.env if len(v) >= 4}, key=len, reverse=True)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def failure(self) -> str:
        """Why the server is unusable, in words (empty while it is fine)."""
        if self.garbage is not None:
            return f"it printed {self.garbage!r} on stdout instead of JSON-RPC"
        code = self.returncode
        if code is None:
            return ""
        if code < 0:
            with suppress(ValueError):
                return f"it was killed by {signal.Signals(-code).name}"
        return f"it exited with code {code}"

    def stderr_text(self, limit: int = STDERR_TAIL_LINES) -> str:
        lines = list(self.stderr_tail)[-limit:]
        return ("; last stderr lines:\n  " + "\n  ".join(lines)) if lines else "; it wrote nothing on stderr"

    async def settle(self, timeout: float = 2.0) -> None:
        """If the server closed its stdout, wait (bounded) for its exit code and last stderr lines: together
        they explain why it stopped."""
        with anyio.move_on_after(timeout):
            if self.stdout_closed.is_set():
                await self.failed.wait()
                await self.stderr_done.wait()
        with anyio.move_on_after(0.2):  # a live server: what it wrote so far
            await self.stderr_done.wait()


def _kill_live_groups() -> None:
    for pgid in list(_live_groups):
        with suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _spawn(server: StdioServer) -> anyio.abc.Process:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_kill_live_groups)
        _atexit_registered = True
    where = f"MCP server '{server.name}'"
    try:
        return await anyio.open_process(
            [server.command, *server.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=server.cwd,
            env=server.environment(),
            start_new_session=True,
        )
    except FileNotFoundError:
        if server.cwd is not None and not os.path.isdir(server.cwd):
            raise McpStartError(
                f"{where}: working directory {server.cwd!r} does not exist", server=server.name
            ) from None
        raise McpStartError(
            f"{where}: command {server.command!r} not found (searched PATH)", server=server.name
        ) from None
    except PermissionError:
        raise McpStartError(
            f"{where}: command {server.command!r} is not executable", server=server.name
        ) from None
    except (OSError, ValueError) as exc:
        raise McpStartError(f"{where}: cannot start {server.command!r}: {exc}", server=server.name) from None


@asynccontextmanager
async def open_stdio(server: StdioServer, logger: Any) -> AsyncIterator[tuple[Any, Any, StdioProcess]]:
    """Start `server` and yield (read stream, write stream, process) for an MCP `ClientSession`."""
    process = await _spawn(server)
    _live_groups.add(process.pid)
    proc = StdioProcess(server, process, logger)
    # no awaits between the spawn and the task group's finally: a cancellation there would leak the process
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def stdout_reader() -> None:
        assert process.stdout is not None
        buffer = b""
        try:
            async with read_writer:
                async for chunk in process.stdout:
                    *lines, buffer = (buffer + chunk).split(b"\n")
                    if len(buffer) > _MAX_LINE_BYTES:
                        proc.garbage = proc.garbage or f"a line longer than {_MAX_LINE_BYTES} bytes"
                        proc.failed.set()
                        return
                    for line in lines:
                        if not line.strip():
                            continue
                        item = _parse(line, proc)
                        if isinstance(item, Exception) and not proc.handshake_done:
                            proc.failed.set()
                        await read_writer.send(item)
                proc.stdout_closed.set()  # EOF: set before the session learns that the connection ended
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            pass
        finally:
            # stdout closed: the server is exiting; its exit code says how
            proc.stdout_closed.set()
            with anyio.move_on_after(_REAP_S, shield=True):
                await process.wait()
            proc.failed.set()

    async def stderr_reader() -> None:
        assert process.stderr is not None
        buffer = b""
        try:
            async for chunk in process.stderr:
                *lines, buffer = (buffer + chunk).split(b"\n")
                buffer = buffer[-8192:]
                for raw in lines:
                    _stderr_line(proc, raw)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            pass
        finally:
            if buffer.strip():
                _stderr_line(proc, buffer)
            proc.stderr_done.set()

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()  # the session sees the connection end instead of waiting forever
        finally:
            writer_done.set()

    stopped = False
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(stdout_reader)
            tg.start_soon(stderr_reader)
            tg.start_soon(stdin_writer)
            try:
                yield read_stream, write_stream, proc
            finally:
                with anyio.CancelScope(shield=True):
                    write_stream.close()
                    with anyio.move_on_after(_FLUSH_S):
                        await writer_done.wait()
                    await _stop(proc)
                    stopped = True
                tg.cancel_scope.cancel()
    finally:
        if not stopped:  # cancelled before the task group was up: still reap the group
            with anyio.CancelScope(shield=True):
                await _stop(proc)
        for stream in (read_stream, write_reader, read_writer, write_stream):
            stream.close()


def _parse(line: bytes, proc: StdioProcess) -> SessionMessage | Exception:
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        if proc.garbage is None:
            proc.garbage = line.decode("utf-8", "replace").strip()[:200]
            proc.logger.warning("MCP server wrote a line that is not JSON-RPC", line=proc.garbage)
        return exc


def _stderr_line(proc: StdioProcess, raw: bytes) -> None:
    line = raw.decode("utf-8", "replace").rstrip()
    for value in proc.secrets:  # a server that echoes its environment must not leak it into logs or prompts
        line = line.replace(value, "***")
    if line:
        proc.stderr_tail.append(line[:500])
        proc.logger.info("mcp server stderr", line=line[:2000])


async def _stop(proc: StdioProcess) -> None:
    """Close stdin, wait a moment, then TERM and KILL the whole process group; bounded in time."""
    process = proc.process
    pgid = proc.pid
    with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        assert process.stdin is not None
        await process.stdin.aclose()
    with anyio.move_on_after(EXIT_GRACE_S):
        while process.returncode is None:
            await anyio.sleep(0.01)
    for sig, grace in ((signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, _REAP_S)):
        if not _group_alive(pgid) and process.returncode is not None:
            break
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        with anyio.move_on_after(grace):
            while _group_alive(pgid):
                _ = process.returncode  # lets the event loop reap the leader
                await anyio.sleep(0.01)
    if process.returncode is None or _group_alive(pgid):
        proc.logger.warning("MCP server process group still alive after SIGKILL", pid=pgid)
    else:
        _live_groups.discard(pgid)
    with anyio.move_on_after(_REAP_S):
        await proc.stderr_done.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stream.aclose()
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)
    if callable(close):  # asyncio warns at GC about a subprocess transport nobody closed
        with suppress(PermissionError):
            close()
