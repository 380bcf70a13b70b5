"""`execute_call`: validation, context injection, timeouts, retries and observations for one tool call."""

from __future__ import annotations

import math
import threading
from typing import Annotated, Any

import anyio
import pytest
from pydantic import BaseModel, Field

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.tooling import DEFAULT_MAX_OBSERVATION_CHARS, RunContext, Tool, execute_call, tool


class Point(BaseModel):
    x: float
    y: float = 0.0


def _ctx() -> RunContext:
    return RunContext(run_id="run-1", step=3, call_id="c1")


async def _run(t: Tool, arguments: dict[str, Any] | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    return await execute_call(ToolCall(name=t.name, arguments=arguments or {}), {t.name: t}, _ctx(), **kwargs)


@tool
def search(query: str, limit: Annotated[int, Field(ge=1, le=50)] = 5) -> list[str]:
    """Search for things."""
    return [query] * limit


pytestmark = pytest.mark.anyio


async def test_success_result_and_metadata() -> None:
    """A successful call returns the JSON observation, the data, and one attempt."""
    outcome = await _run(search, {"query": "a", "limit": 2})
    assert (outcome.content, outcome.result, outcome.is_error, outcome.error_type) == ('["a", "a"]', ["a", "a"],
                                                                                        False, None)
    assert outcome.attempts == 1
    assert outcome.call.name == "search"


async def test_invalid_argument_names_argument_and_limit() -> None:
    """An argument out of range gives an error observation naming the argument, the limit and the value."""
    outcome = await _run(search, {"query": "a", "limit": 80})
    assert outcome.is_error and outcome.error_type == "invalid_arguments"
    assert "tool 'search'" in outcome.content
    assert "argument 'limit'" in outcome.content
    assert "50" in outcome.content and "(got 80)" in outcome.content
    assert outcome.attempts == 0


async def test_missing_unknown_and_mistyped_arguments() -> None:
    """Missing, unexpected and wrongly typed arguments are each reported in one observation."""
    outcome = await _run(search, {"limit": "many", "color": "red"})
    assert outcome.error_type == "invalid_arguments"
    assert "argument 'query' is required" in outcome.content
    assert "unknown argument 'color'" in outcome.content
    assert "argument 'limit'" in outcome.content and '"many"' in outcome.content


async def test_nested_model_argument_is_validated() -> None:
    """A nested model argument arrives as a model instance, and a bad nested field is named by its path."""

    @tool
    def norm(p: Point) -> float:
        assert isinstance(p, Point)
        return math.hypot(p.x, p.y)

    assert (await _run(norm, {"p": {"x": 3, "y": 4}})).content == "5.0"
    bad = await _run(norm, {"p": {"x": "far"}})
    assert bad.error_type == "invalid_arguments" and "argument 'p.x'" in bad.content


async def test_unknown_tool_lists_available() -> None:
    """Calling a tool that does not exist gives an error observation listing the available tools."""
    outcome = await execute_call(ToolCall(name="serch", arguments={}), {"search": search}, _ctx())
    assert outcome.is_error and outcome.error_type == "unknown_tool"
    assert "unknown tool 'serch'" in outcome.content and "search" in outcome.content.split(":", 1)[1]


async def test_exception_becomes_error_observation() -> None:
    """An exception raised by the tool becomes an error observation naming the tool and the exception."""

    @tool
    def broken(x: int) -> int:
        raise ValueError("kaput")

    outcome = await _run(broken, {"x": 1})
    assert outcome.is_error and outcome.error_type == "ValueError"
    assert outcome.content == "tool 'broken' failed: ValueError: kaput"
    assert outcome.attempts == 1


async def test_tool_error_message_reaches_the_model() -> None:
    """A `ToolError` raised by the tool is reported with its message."""

    @tool
    def picky(x: int) -> int:
        raise ToolError("x must be even")

    outcome = await _run(picky, {"x": 1})
    assert outcome.error_type == "ToolError" and "x must be even" in outcome.content


async def test_async_timeout_becomes_error_observation() -> None:
    """An async tool that never finishes is cut off at `timeout_s` with a timeout observation."""

    @tool(timeout_s=0.2)
    async def hang() -> str:
        await anyio.Event().wait()
        return "never"

    outcome = await _run(hang)
    assert outcome.is_error and outcome.error_type == "timeout"
    assert outcome.content == "tool 'hang' timed out after 0.2 s"


async def test_sync_timeout_abandons_the_thread() -> None:
    """A sync tool blocked past `timeout_s` gives a timeout observation without waiting for the thread."""
    release = threading.Event()

    @tool(timeout_s=0.2)
    def block() -> str:
        release.wait()
        return "late"

    try:
        outcome = await _run(block)
    finally:
        release.set()
    assert outcome.error_type == "timeout"


async def test_retryable_tool_error_is_retried() -> None:
    """`ToolError(retryable=True)` is retried until it succeeds, within `retries`."""
    attempts = 0

    @tool(retries=2)
    def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ToolError("busy", retryable=True)
        return "ok"

    outcome = await _run(flaky)
    assert (outcome.content, outcome.is_error, outcome.attempts, attempts) == ("ok", False, 3, 3)


async def test_retries_are_bounded() -> None:
    """A call that keeps failing stops after `retries + 1` attempts with the last error."""
    attempts = 0

    @tool(retries=1)
    def always_busy() -> str:
        nonlocal attempts
        attempts += 1
        raise ToolError(f"busy {attempts}", retryable=True)

    outcome = await _run(always_busy)
    assert outcome.is_error and (outcome.attempts, attempts) == (2, 2)
    assert "busy 2" in outcome.content


async def test_non_retryable_tool_error_is_not_retried() -> None:
    """A `ToolError` without `retryable=True` fails at once even when retries are allowed."""
    attempts = 0

    @tool(retries=3)
    def fatal() -> str:
        nonlocal attempts
        attempts += 1
        raise ToolError("no")

    outcome = await _run(fatal)
    assert outcome.is_error and attempts == 1


async def test_retry_on_exception_types() -> None:
    """Exceptions listed in `retry_on` are retried; other exceptions are not."""
    calls: list[str] = []

    @tool(retries=2, retry_on=(ConnectionError,))
    def network(kind: str) -> str:
        calls.append(kind)
        if kind == "conn" and len(calls) == 1:
            raise ConnectionError("reset")
        if kind == "other":
            raise KeyError("missing")
        return "ok"

    assert (await _run(network, {"kind": "conn"})).content == "ok"
    assert calls == ["conn", "conn"]
    calls.clear()
    outcome = await _run(network, {"kind": "other"})
    assert outcome.error_type == "KeyError" and calls == ["other"]


async def test_timeout_not_retried_for_non_idempotent_tool() -> None:
    """A timed-out tool that is not idempotent is not retried: the first attempt may have had its effect."""
    attempts = 0

    @tool(timeout_s=0.2, retries=2)
    async def send_email() -> str:
        nonlocal attempts
        attempts += 1
        await anyio.Event().wait()
        return "sent"

    outcome = await _run(send_email)
    assert outcome.error_type == "timeout"
    assert (outcome.attempts, attempts) == (1, 1)


async def test_timeout_retried_for_idempotent_tool() -> None:
    """A timed-out idempotent tool is retried, and succeeds when a later attempt finishes."""
    attempts = 0

    @tool(timeout_s=0.2, retries=2, idempotent=True)
    async def lookup() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await anyio.Event().wait()
        return "found"

    outcome = await _run(lookup)
    assert (outcome.content, outcome.attempts, attempts) == ("found", 2, 2)


async def test_cancellation_propagates_and_is_not_retried() -> None:
    """Cancelling the run cancels the call instead of producing an outcome, even with broad `retry_on`."""
    started = anyio.Event()
    attempts = 0
    outcomes: list[Any] = []

    @tool(timeout_s=None, retries=3, retry_on=(Exception,))
    async def wait_forever() -> str:
        nonlocal attempts
        attempts += 1
        started.set()
        await anyio.Event().wait()
        return "never"

    async def call() -> None:
        outcomes.append(await _run(wait_forever))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await started.wait()
        tg.cancel_scope.cancel()
    assert outcomes == [] and attempts == 1


async def test_truncation_default_cap_and_marker() -> None:
    """A long observation is capped at the default limit with a marker saying exactly how much was cut."""

    @tool
    def verbose() -> str:
        return "x" * 10_000

    outcome = await _run(verbose)
    assert len(outcome.content) == DEFAULT_MAX_OBSERVATION_CHARS
    kept = len(outcome.content) - len(outcome.content.lstrip("x"))
    assert outcome.content.endswith(f"... [truncated: {10_000 - kept} of 10000 characters omitted]")


async def test_truncation_limits_per_call_and_per_tool() -> None:
    """`max_observation_chars` caps the observation, and a tool's own cap overrides the call's."""

    @tool
    def verbose() -> str:
        return "y" * 1000

    @tool(max_observation_chars=300)
    def capped() -> str:
        return "z" * 1000

    short = await _run(verbose, max_observation_chars=200)
    assert len(short.content) == 200 and short.content.startswith("y") and "truncated" in short.content
    assert len((await _run(capped, max_observation_chars=200)).content) == 300
    assert (await _run(verbose, max_observation_chars=5000)).content == "y" * 1000


async def test_errors_are_truncated_too() -> None:
    """Error observations obey the same cap."""

    @tool(max_observation_chars=120)
    def loud() -> str:
        raise RuntimeError("e" * 1000)

    outcome = await _run(loud)
    assert outcome.is_error and len(outcome.content) == 120 and "truncated" in outcome.content


async def test_sync_tool_runs_in_worker_thread() -> None:
    """A sync tool runs in a worker thread, not on the event loop's thread."""
    seen: list[int] = []

    @tool
    def where() -> str:
        seen.append(threading.get_ident())
        return "done"

    assert (await _run(where)).content == "done"
    assert seen and seen[0] != threading.get_ident()


async def test_async_tool_runs_on_the_loop() -> None:
    """An async tool is awaited directly and its result returned."""
    seen: list[int] = []

    @tool
    async def add(a: int, b: int) -> int:
        seen.append(threading.get_ident())
        await anyio.lowlevel.checkpoint()
        return a + b

    outcome = await _run(add, {"a": 2, "b": 3})
    assert (outcome.content, outcome.result) == ("5", 5)
    assert seen == [threading.get_ident()]


async def test_context_is_injected() -> None:
    """A tool asking for `RunContext` receives the run's context."""

    @tool
    def whoami(ctx: RunContext) -> dict[str, Any]:
        return {"run": ctx.run_id, "step": ctx.step, "call": ctx.call_id}

    assert (await _run(whoami)).result == {"run": "run-1", "step": 3, "call": "c1"}


async def test_context_cannot_be_passed_as_argument() -> None:
    """The model cannot supply the context parameter itself: it is not an argument."""

    @tool
    def whoami(ctx: RunContext) -> str:
        return ctx.run_id

    outcome = await _run(whoami, {"ctx": {"run_id": "forged"}})
    assert outcome.error_type == "invalid_arguments" and "unknown argument 'ctx'" in outcome.content


async def test_pydantic_results_are_serialised() -> None:
    """Pydantic models, alone or inside containers, are serialised to JSON."""

    @tool
    def one() -> Point:
        return Point(x=1.5)

    @tool
    def many() -> dict[str, Any]:
        return {"points": [Point(x=1), Point(x=2, y=3)], "tags": {"b"}}

    single = await _run(one)
    assert single.content == '{"x": 1.5, "y": 0.0}' and single.result == {"x": 1.5, "y": 0.0}
    nested = await _run(many)
    assert nested.result == {"points": [{"x": 1.0, "y": 0.0}, {"x": 2.0, "y": 3.0}], "tags": ["b"]}
    assert nested.content.startswith('{"points": [{"x": 1.0')


async def test_non_ascii_text_kept() -> None:
    """Non-ASCII text in structured results is kept readable, not escaped."""

    @tool
    def greet() -> dict[str, str]:
        return {"text": "héllo 世界"}

    assert (await _run(greet)).content == '{"text": "héllo 世界"}'


async def test_unserialisable_result_is_an_error() -> None:
    """A result that is not valid JSON (NaN) gives an error observation rather than raising."""

    @tool
    def nan() -> float:
        return float("nan")

    outcome = await _run(nan)
    assert outcome.is_error and outcome.error_type == "bad_result"
