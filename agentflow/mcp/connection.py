"""One MCP server's connection: one session, owned by one task, shared by every call, restarted when it dies.

`ServerConnection.run` is the owner task. It opens the transport and the session, performs the handshake and
lists the tools (bounded by `start_timeout_s`; a failure is a `McpStartError` naming the server and its last
stderr lines), then serves until it is closed or the server dies. Calls come from any task
(`call_tool`) and may overlap. When the server dies, calls in flight learn it (`ServerGone`), and the next
call asks the owner to start it again (given up after `max_restarts` failed restarts in a row). Closing
happens in the owner task, always (anyio cancel scopes require it), shielded and bounded.

Server-to-client traffic: `notifications/tools/list_changed` re-lists the tools and compares their pins;
elicitation goes to a hook (default: decline, logged); sampling is refused unless a handler is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import mcp_types
import structlog
from mcp import ClientSession, MCPError
from pydantic import ValidationError

from agentflow.exceptions import ConfigError, McpStartError, ToolDefinitionChanged, ToolNameConflictError
from agentflow.mcp.pinning import ServerPin, ToolChange, check_pin, pin_tools
from agentflow.mcp.servers import HttpServer, McpServer, StdioServer, safe_url
from agentflow.mcp.stdio import StdioProcess, open_stdio

__all__ = [
    "ElicitationAnswer",
    "ElicitationHandler",
    "ElicitationRequest",
    "RestartFailed",
    "SamplingHandler",
    "ServerConnection",
    "ServerGone",
    "ServerUnavailable",
    "SessionExpired",
]

_MAX_PAGES = 1000


class ServerGone(Exception):
    """The server died (stdio) or the connection broke (HTTP) while a call was in flight; `detail` is the
    server's last stderr lines (stdio)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class SessionExpired(ServerGone):
    """The HTTP server no longer knows our session (it restarted): the request was not executed."""


class ServerUnavailable(Exception):
    """The server is down and cannot be restarted (closed, or out of restarts)."""


class RestartFailed(ServerUnavailable):
    """The server was down and the restart for this call failed (a later call tries again)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ElicitationRequest:
    """A server asks the user for input: a form (`requested_schema`) or a visit to `url`."""

    server: str
    message: str
    mode: Literal["form", "url"] = "form"
    requested_schema: dict[str, Any] | None = None
    url: str | None = None
    call_id: str | None = None  # the tool call it came during (None when several calls were in flight)

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "message": self.message,
            "mode": self.mode,
            "requested_schema": self.requested_schema,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ElicitationAnswer:
    """The user's answer: accept (with `content` for a form), decline, or cancel."""

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
    pause: bool = False  # stop the call (the server is told "cancel") and pause the run for a human


ElicitationHandler = Callable[[ElicitationRequest], Awaitable[ElicitationAnswer]]
SamplingHandler = Callable[
    [str, mcp_types.CreateMessageRequestParams], Awaitable[mcp_types.CreateMessageResult]
]
State = Literal["starting", "ready", "down", "failed", "closed"]


def _session_gone(message: str) -> bool:
    """An HTTP 404 for our session id: the SDKs answer "Session not found"; the Python client synthesises
    "Session terminated" when the body is not JSON-RPC."""
    text = message.lower()
    return "session" in text and any(w in text for w in ("not found", "terminated", "expired", "unknown"))


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def describe_exception(exc: BaseException) -> str:
    """One line for an error that may be an exception group from a transport's task group."""
    leaves = [e for e in _leaves(exc) if not isinstance(e, anyio.get_cancelled_exc_class())] or [exc]
    return "; ".join(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__ for e in leaves)[:500]


async def _wait_any(*events: anyio.Event) -> None:
    async with anyio.create_task_group() as tg:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            tg.cancel_scope.cancel()

        for event in events:
            tg.start_soon(wait, event)


class ServerConnection:
    """The live connection to one declared server (see the module docstring)."""

    def __init__(
        self,
        server: McpServer,
        *,
        elicitation: ElicitationHandler | None = None,
        sampling: SamplingHandler | None = None,
        logger: Any = None,
        on_change: Callable[[ToolDefinitionChanged], None] | None = None,
    ) -> None:
        self.server = server
        self.logger = (logger or structlog.get_logger("agentflow.mcp")).bind(mcp_server=server.name)
        self.tools: tuple[mcp_types.Tool, ...] = ()  # as listed at start, after the filters
        self.pin: ServerPin | None = None
        self.changes: list[ToolChange] = []
        self.changed_tools: set[str] = set()
        self.change_error: ToolDefinitionChanged | None = None
        self.restarts = 0
        self._failed_restarts = 0  # in a row; reset by a successful start
        self.server_info: mcp_types.Implementation | None = None
        self._elicitation = elicitation
        self.in_flight: list[str] = []  # the tool calls waiting on this server (to tie an elicitation to one)
        self.paused: dict[str, ElicitationRequest] = {}  # call id -> what the server asked, the call stopped
        self._sampling = sampling
        self._on_change = on_change
        self._state: State = "starting"
        self._session: ClientSession | None = None
        self._proc: StdioProcess | None = None
        self._changed = anyio.Event()
        self._restart = anyio.Event()
        self._stop = anyio.Event()
        self._relist = anyio.Event()
        self._session_down = anyio.Event()  # set when a call finds the session unusable (an HTTP 404)
        self._last_failure = ""

    @property
    def state(self) -> State:
        return self._state

    @property
    def pid(self) -> int | None:
        """The stdio server's process id (its process group id too), while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def close(self) -> None:
        """Ask the owner task to close the connection (it does so in its own task, then returns)."""
        self._stop.set()

    def _set_state(self, state: State, session: ClientSession | None = None) -> None:
        self._state, self._session = state, session
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    # -- the owner task ------------------------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own the connection: start, serve, restart on demand, close. Raises only before it has started."""
        try:
            await self._own(task_status)
        finally:
            self._set_state("closed")  # however the owner ends (closed, cancelled): waiting calls learn it

    async def _own(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        started = False
        while True:
            try:
                async with self._open() as (session, listed):
                    if not started:
                        self._adopt(listed)
                    else:
                        self._compare(listed)
                    self._session_down = anyio.Event()
                    self._failed_restarts = 0
                    self._set_state("ready", session)
                    if not started:
                        started = True
                        task_status.started()
                    await self._serve(session)
            except Exception as exc:
                if not started:
                    raise
                if isinstance(exc, McpStartError | ConfigError | ToolNameConflictError):
                    self._failed_restarts += 1
                    self._last_failure = str(exc)
                    self.logger.warning("MCP server could not be restarted", reason=self._last_failure)
                else:
                    self._last_failure = describe_exception(exc)
                    self.logger.warning("MCP server connection lost", reason=self._last_failure)
            finally:
                self._proc = None
                self._set_state("down")
            if self._stop.is_set():
                return
            if self.server.max_restarts == 0 or self._failed_restarts >= self.server.max_restarts:
                self._set_state("failed")
                await self._stop.wait()
                return
            await _wait_any(self._restart, self._stop)
            if self._stop.is_set():
                return
            self._restart = anyio.Event()
            self.restarts += 1
            self.logger.info("restarting MCP server", restart=self.restarts)
            self._set_state("starting")

    async def _serve(self, session: ClientSession) -> None:
        """Wait until closed or the server dies; re-list the tools when the server says they changed."""
        died = self._proc.failed if self._proc is not None else anyio.Event()
        while True:
            await _wait_any(self._stop, died, self._session_down, self._relist)
            if self._stop.is_set() or died.is_set() or self._session_down.is_set():
                return
            self._relist = anyio.Event()
            try:
                with anyio.fail_after(self.server.start_timeout_s):
                    listed = await self._list(session)
            except Exception as exc:
                self.logger.warning(
                    "re-listing tools after list_changed failed", error=describe_exception(exc)
                )
                continue
            self._compare(listed)

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[tuple[ClientSession, list[mcp_types.Tool]]]:
        """Transport, session, handshake and tool list; every failure before the yield is a McpStartError."""
        yielded = False
        try:
            async with AsyncExitStack() as stack:
                if isinstance(self.server, StdioServer):
                    read, write, self._proc = await stack.enter_async_context(
                        open_stdio(self.server, self.logger)
                    )
                else:
                    read, write = await stack.enter_async_context(_open_http(self.server))
                session = ClientSession(
                    read,
                    write,
                    message_handler=self._on_message,
                    elicitation_callback=self._elicit,
                    sampling_callback=self._sample if self._sampling is not None else None,
                    client_info=mcp_types.Implementation(name="agentflow", version=_version()),
                )
                await stack.enter_async_context(session)
                listed = await self._handshake(session)
                yielded = True
                yield session, listed
        except Exception as exc:
            if yielded:
                raise
            ours = [
                e for e in _leaves(exc) if isinstance(e, McpStartError | ConfigError | ToolNameConflictError)
            ]
            if ours:
                raise ours[0] from None
            raise await self._start_error(describe_exception(exc)) from None

    async def _handshake(self, session: ClientSession) -> list[mcp_types.Tool]:
        proc = self._proc
        listed: list[mcp_types.Tool] | None = None
        error: str | None = None
        async with anyio.create_task_group() as tg:
            if proc is not None:

                async def watch() -> None:
                    await proc.failed.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(watch)
            with anyio.move_on_after(self.server.start_timeout_s) as deadline:
                try:
                    init = await session.initialize()
                    self.server_info = init.server_info
                    listed = await self._list(session)
                except (McpStartError, ConfigError, ToolNameConflictError):
                    raise
                except (MCPError, RuntimeError, ValidationError, OSError) as exc:
                    error = describe_exception(exc)
            tg.cancel_scope.cancel()
        if listed is not None:
            if proc is not None:
                proc.handshake_done = True
            return listed
        if error is None:
            error = (
                f"no answer to the MCP handshake within {self.server.start_timeout_s:g} s"
                if deadline.cancelled_caught
                else "the handshake failed"
            )
        raise await self._start_error(error)

    async def _start_error(self, reason: str) -> McpStartError:
        where = (
            f"{self.server.command} {' '.join(self.server.args)}".strip()
            if isinstance(self.server, StdioServer)
            else safe_url(self.server.url)
        )
        proc, tail = self._proc, ""
        if proc is not None:
            await proc.settle()
            reason = proc.failure() or reason
            tail = proc.stderr_text()
        return McpStartError(
            f"MCP server '{self.server.name}' ({where}) did not start: {reason}{tail}",
            server=self.server.name,
            stderr=tuple(proc.stderr_tail) if proc else (),
        )

    async def _list(self, session: ClientSession) -> list[mcp_types.Tool]:
        """Every tool (all pages) that passes the filters."""
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
            result = await session.list_tools(params=params)
            tools.extend(result.tools)
            cursor = result.next_cursor
            if not cursor:
                break
        else:
            raise McpStartError(
                f"MCP server '{self.server.name}' lists more than {_MAX_PAGES} pages of tools",
                server=self.server.name,
            )
        seen: set[str] = set()
        for tool in tools:
            if tool.name in seen:
                raise ToolNameConflictError(f"MCP server '{self.server.name}' lists tool '{tool.name}' twice")
            seen.add(tool.name)
        missing = sorted((self.server.include or frozenset()) - seen)
        if missing:
            raise ConfigError(
                f"MCP server '{self.server.name}': include names tools it does not offer: "
                f"{', '.join(missing)} (it offers: {', '.join(sorted(seen)) or 'none'})"
            )
        return [t for t in tools if self.server.offers(t.name)]

    def _adopt(self, listed: list[mcp_types.Tool]) -> None:
        self.tools = tuple(listed)
        self.pin = pin_tools(self.server.name, listed)

    def _compare(self, listed: list[mcp_types.Tool]) -> None:
        """Compare a new listing with the pin; a change of a tool in use is recorded (or accepted)."""
        assert self.pin is not None
        current = pin_tools(self.server.name, listed)
        in_use = [t.name for t in self.tools]
        added = sorted(set(current.tools) - set(self.pin.tools))
        if added:
            self.logger.info("MCP server offers new tools (not used in this run)", tools=added)
        try:
            changes = check_pin(self.pin, current, in_use=in_use, accept_changes=self.server.accept_changes)
        except ToolDefinitionChanged as exc:
            self.changes += [
                ToolChange(server=s, tool=t, what=tuple(w.split(","))) for s, t, w in exc.changes
            ]
            self.changed_tools |= {t for _, t, _ in exc.changes}
            self.change_error = exc if self.change_error is None else self.change_error
            self.logger.warning("MCP tool definitions changed; calls to them are refused", error=str(exc))
            if self._on_change is not None:
                self._on_change(exc)
            return
        if changes:
            self.logger.warning("MCP tool definitions changed; accepted", changes=[str(c) for c in changes])
            self.pin = ServerPin(
                server=self.pin.server,
                tools={**self.pin.tools, **{n: current.tools[n] for n in current.tools if n in in_use}},
            )

    # -- server-to-client traffic --------------------------------------------------------------------------

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._relist.set()
        elif isinstance(message, Exception):
            self.logger.debug("MCP transport reported an error", error=describe_exception(message))

    async def _elicit(self, context: Any, params: Any) -> mcp_types.ElicitResult:
        request = ElicitationRequest(
            server=self.server.name,
            message=params.message,
            mode=params.mode,
            requested_schema=getattr(params, "requested_schema", None),
            url=getattr(params, "url", None),
            call_id=self.in_flight[0] if len(self.in_flight) == 1 else None,
        )
        if self._elicitation is None:
            self.logger.warning(
                "MCP server asked the user for input; declined (no elicitation handler)",
                message=params.message[:200],
                mode=params.mode,
            )
            return mcp_types.ElicitResult(action="decline")
        answer = await self._elicitation(request)
        if answer.pause and request.call_id is not None:
            self.paused[request.call_id] = request
            return mcp_types.ElicitResult(action="cancel")
        return mcp_types.ElicitResult(action=answer.action, content=answer.content)

    async def _sample(self, context: Any, params: mcp_types.CreateMessageRequestParams) -> Any:
        assert self._sampling is not None
        return await self._sampling(self.server.name, params)

    # -- calls (any task) ----------------------------------------------------------------------------------

    async def _acquire(self) -> ClientSession:
        """The live session; asks the owner for one restart if the server is down (a failed restart ->
        `ServerUnavailable` for this call; the next call tries again, up to `max_restarts` failures in a row)."""
        asked = False
        while True:
            changed = self._changed
            unusable = (self._proc is not None and self._proc.failed.is_set()) or self._session_down.is_set()
            if self._state == "ready" and self._session is not None and not unusable:
                return self._session
            if self._state == "closed":
                raise ServerUnavailable(f"the connection to MCP server '{self.server.name}' is closed")
            if self._state == "failed":
                raise ServerUnavailable(
                    f"MCP server '{self.server.name}' is down and was given up after {self._failed_restarts} "
                    f"failed restarts"
                    + (f"; last failure: {self._last_failure}" if self._last_failure else "")
                )
            if self._state == "down":
                if asked:
                    raise RestartFailed(
                        f"MCP server '{self.server.name}' could not be restarted: {self._last_failure}"
                    )
                asked = True
                self._restart.set()
            await changed.wait()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call the server's tool `name`; `ServerGone` if the server dies or the connection breaks meanwhile."""
        session = await self._acquire()
        proc, session_down = self._proc, self._session_down
        try:
            return await session.call_tool(name, arguments)
        except MCPError as exc:
            if isinstance(self.server, HttpServer) and _session_gone(exc.message):
                session_down.set()  # the owner opens a new session for the next attempt
                raise SessionExpired(
                    f"MCP server '{self.server.name}' no longer knows this session (it "
                    "restarted); the call was not executed"
                ) from None
            if exc.code != mcp_types.CONNECTION_CLOSED:
                raise
        if proc is not None:
            await proc.settle()
            reason = proc.failure() or "it closed its stdout"
            raise ServerGone(
                f"MCP server '{self.server.name}' exited during the call ({reason})",
                detail=proc.stderr_text(limit=5),
            )
        raise ServerGone(f"the connection to MCP server '{self.server.name}' broke during the call")

    @property
    def restarts_left(self) -> int:
        return (
            0
            if self._state in ("failed", "closed")
            else max(0, self.server.max_restarts - self._failed_restarts)
        )


@asynccontextmanager
async def _open_http(server: HttpServer) -> AsyncIterator[tuple[Any, Any]]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(server.start_timeout_s, read=max(300.0, server.timeout_s or 0.0))
    async with httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout) as client:
        async with streamable_http_client(server.url, http_client=client) as (read, write):
            yield read, write


def _version() -> str:
    from agentflow import __version__

    return __version__
