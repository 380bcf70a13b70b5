"""The clock tool: the current time in an IANA zone, as ISO 8601 with its offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.toolkit import current_time
from agentflow.tools import RunContext, execute_call


def _bracketed(zone: str) -> tuple[datetime, datetime, datetime]:
    before = datetime.now(UTC).replace(microsecond=0)
    text = current_time.function(zone)
    after = datetime.now(UTC)
    return before, datetime.fromisoformat(text), after


def test_default_is_utc_now() -> None:
    """With no argument the result is the current UTC time with a +00:00 offset."""
    before = datetime.now(UTC).replace(microsecond=0)
    text = current_time.function()
    after = datetime.now(UTC)
    assert text.endswith("+00:00")
    assert before <= datetime.fromisoformat(text) <= after


def test_fixed_offset_zone() -> None:
    """A zone without daylight saving time reports its fixed offset and the same instant."""
    before, moment, after = _bracketed("Asia/Kolkata")
    assert moment.utcoffset() == timedelta(hours=5, minutes=30)
    assert str(moment).endswith("+05:30")
    assert before <= moment <= after


def test_zone_names_are_case_insensitive() -> None:
    """Zone names match in any case, and 'Z'/'GMT' mean UTC."""
    assert datetime.fromisoformat(current_time.function("asia/kolkata")).utcoffset() == timedelta(hours=5, minutes=30)
    assert current_time.function("Z").endswith("+00:00")
    assert current_time.function("gmt").endswith("+00:00")


def test_seconds_precision() -> None:
    """The timestamp has whole seconds, no microseconds."""
    assert datetime.fromisoformat(current_time.function("UTC")).microsecond == 0


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", ""])
def test_unknown_zone(zone: str) -> None:
    """An unknown or path-like zone raises `ToolError` naming it."""
    with pytest.raises(ToolError, match="unknown time zone"):
        current_time.function(zone)


def test_unknown_zone_suggests_close_match() -> None:
    """A misspelt zone gets a suggestion."""
    with pytest.raises(ToolError, match="did you mean 'Europe/Paris'"):
        current_time.function("Europe/Pariss")


@pytest.mark.anyio
async def test_through_execute_call() -> None:
    """Through the executor the observation is the timestamp, and a bad zone an error observation."""
    tools = {current_time.name: current_time}
    ctx = RunContext(run_id="r")
    ok = await execute_call(ToolCall(name="current_time", arguments={"timezone": "Etc/GMT-3"}), tools, ctx)
    assert not ok.is_error and ok.content.endswith("+03:00")
    bad = await execute_call(ToolCall(name="current_time", arguments={"timezone": "Nowhere"}), tools, ctx)
    assert bad.is_error and "unknown time zone 'Nowhere'" in bad.content


def test_tool_metadata() -> None:
    """The clock is read-only and its timezone argument defaults to UTC."""
    assert current_time.read_only
    assert current_time.parameters["properties"]["timezone"]["default"] == "UTC"
