"""Running one tool call: validate, inject the context, time out, retry, and turn the result into an observation.

Nothing here raises for a tool's own failure: invalid arguments, exceptions and timeouts come back as an
error `ToolOutcome` whose text the model reads. Only cancellation of the run propagates.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from agentflow.exceptions import ElicitationRequired, ToolArgumentsError
from agentflow.messages import ToolCall
from agentflow.tooling.context import RunContext, in_call, leave_call
from agentflow.tooling.tool import Tool, format_validation_error

NEEDS_INPUT = "needs_input"  # the error type of a call that stopped for a human's input (MCP elicitation)

__all__ = [
    "DEFAULT_MAX_OBSERVATION_CHARS",
    "NEEDS_INPUT",
    "ToolOutcome",
    "ToolReturn",
    "execute_call",
    "format_validation_error",
    "truncate",
]

DEFAULT_MAX_OBSERVATION_CHARS = 4000


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolOutcome:
    """The result of one call as the model will see it (`content`) and as the trace records it."""

    call: ToolCall
    content: str
    is_error: bool = False
    error_type: str | None = None
    result: Any = None
    attempts: int = 0
    latency_s: float = 0.0
    traceback: str | None = None  # where a tool function raised (for the trace and `-v`, not the model)
    elicitation: dict[str, Any] | None = None  # the server asked a human for input: the run pauses for it


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolReturn:
    """What a tool function may return when it has composed the observation itself (MCP tools do): `text` is
    what the model reads (capped like any observation), `data` what the trace records as the result, and
    `is_error` makes it an error observation of type `error_type` (e.g. an MCP result with `isError`)."""

    text: str
    data: Any = None
    is_error: bool = False
    error_type: str = "tool_error"


class _Timeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")


_MAX_TRACEBACK_CHARS = 8000


def _traceback_of(exc: BaseException) -> str:
    """The exception's traceback from the tool function down (agentflow's own frames left out), capped."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    own = ("agentflow/tooling/", "tenacity/", "anyio/", "asyncio/", "concurrent/futures/")
    kept = [f for f in frames if not any(part in f.filename.replace("\\", "/") for part in own)] or frames
    text = "".join(
        [
            "Traceback (most recent call last):\n",
            *traceback.format_list(kept),
            *traceback.format_exception_only(type(exc), exc),
        ]
    )
    return text if len(text) <= _MAX_TRACEBACK_CHARS else "...\n" + text[-_MAX_TRACEBACK_CHARS:]


def truncate(text: str, limit: int) -> str:
    """Cap `text` at `limit` characters with a visible marker saying how much was cut."""
    if len(text) <= limit:
        return text
    omitted = len(text) - limit
    while True:  # the marker's own length changes how much is omitted; settles in a step or two
        marker = f"... [truncated: {omitted} of {len(text)} characters omitted]"
        kept = max(0, limit - len(marker))
        if len(text) - kept == omitted:
            return text[:kept] + marker
        omitted = len(text) - kept


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


def _to_text(result: Any) -> tuple[str, Any]:
    """The observation text for `result` and a JSON-safe copy for the trace."""
    if isinstance(result, str):
        return result, result
    if isinstance(result, BaseModel):
        data = result.model_dump(mode="json")
    else:
        data = json.loads(json.dumps(result, default=_json_default, allow_nan=False))
    if isinstance(data, float) and data.is_integer() and not math.isinf(data):
        return json.dumps(data), data
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": ")), data


async def _invoke(tool: Tool, kwargs: dict[str, Any]) -> Any:
    if tool.is_async:
        return await tool.function(**kwargs)
    return await anyio.to_thread.run_sync(lambda: tool.function(**kwargs), abandon_on_cancel=True)


async def _attempt(tool: Tool, kwargs: dict[str, Any]) -> Any:
    if tool.timeout_s is None:
        return await _invoke(tool, kwargs)
    with anyio.move_on_after(tool.timeout_s) as scope:
        return await _invoke(tool, kwargs)
    if scope.cancelled_caught:
        raise _Timeout(tool.timeout_s)


async def execute_call(
    call: ToolCall,
    tools: Mapping[str, Tool],
    context: RunContext,
    *,
    max_observation_chars: int = DEFAULT_MAX_OBSERVATION_CHARS,
) -> ToolOutcome:
    """Run `call` against `tools`; every failure becomes an error outcome the model can read."""
    started = time.perf_counter()

    def outcome(
        content: str,
        *,
        error_type: str | None = None,
        result: Any = None,
        attempts: int = 0,
        trace: str | None = None,
        elicitation: dict[str, Any] | None = None,
    ) -> ToolOutcome:
        limit = (
            tool.max_observation_chars
            if tool is not None and tool.max_observation_chars
            else max_observation_chars
        )
        return ToolOutcome(
            call=call,
            content=truncate(content, limit),
            is_error=error_type is not None,
            error_type=error_type,
            result=result,
            attempts=attempts,
            latency_s=time.perf_counter() - started,
            traceback=trace,
            elicitation=elicitation,
        )

    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return outcome(f"unknown tool '{call.name}'; available tools: {available}", error_type="unknown_tool")
    try:
        kwargs = tool.validate_arguments(call.arguments, quote_source=context.request)
    except ToolArgumentsError as exc:
        return outcome(str(exc), error_type="invalid_arguments")
    if tool.context_param:
        kwargs[tool.context_param] = context

    def retryable(exc: BaseException) -> bool:
        if isinstance(exc, _Timeout):
            return tool.idempotent
        return tool.is_retryable(exc)

    attempts = 0
    token = in_call(call.id)
    try:
        if tool.retries == 0:  # the common case: no retry machinery
            attempts = 1
            result = await _attempt(tool, kwargs)
        else:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(tool.retries + 1),
                wait=wait_exponential(multiplier=0.1, max=5),
                retry=retry_if_exception(retryable),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    result = await _attempt(tool, kwargs)
    except _Timeout as exc:
        return outcome(f"tool '{tool.name}' {exc}", error_type="timeout", attempts=attempts)
    except ElicitationRequired as exc:  # the call stopped to ask a human (the tool node pauses the run)
        asked = {**exc.request, "arguments": call.arguments}  # (the call as it ran, to run it again)
        return outcome(str(exc), error_type=NEEDS_INPUT, attempts=attempts, elicitation=asked)
    except Exception as exc:
        return outcome(
            f"tool '{tool.name}' failed: {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
            attempts=attempts,
            trace=_traceback_of(exc),
        )
    finally:
        leave_call(token)
    if isinstance(result, ToolReturn):
        return outcome(
            result.text,
            error_type=result.error_type if result.is_error else None,
            result=result.data,
            attempts=attempts,
        )
    try:
        text, data = _to_text(result)
    except (TypeError, ValueError) as exc:
        return outcome(
            f"tool '{tool.name}' returned a value that is not JSON-serialisable: {exc}",
            error_type="bad_result",
            attempts=attempts,
        )
    return outcome(text, result=data, attempts=attempts)
