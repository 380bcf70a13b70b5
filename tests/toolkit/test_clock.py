"""The clock tool: the current time in a zone (IANA name, city or one-zone country), as ISO 8601 with its offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.toolkit import current_time
from agentflow.toolkit.clock import PLACES, resolve_zone
from agentflow.tooling import RunContext, execute_call


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


@pytest.mark.parametrize(("place", "zone"), [
    ("Tokyo", "Asia/Tokyo"), ("new york", "America/New_York"), ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Mumbai", "Asia/Kolkata"), ("San Francisco", "America/Los_Angeles"), ("Japan", "Asia/Tokyo"),
    ("the UK", "Europe/London"), ("SOUTH KOREA", "Asia/Seoul"), ("Paris, France", "Europe/Paris"),
    ("Istanbul", "Europe/Istanbul"), ("Coordinated Universal Time", "UTC"), ("Zulu time", "UTC"),
    ("America/New_York", "America/New_York"), ("Ho_Chi_Minh", "Asia/Ho_Chi_Minh"),
])
def test_places_resolve_to_their_zone(place: str, zone: str) -> None:
    """Cities (the city part of a zone name, or one of the listed cities in another city's zone), one-zone
    countries and spelled-out UTC resolve to the canonical zone, not a legacy alias ("Japan" is Asia/Tokyo)."""
    assert resolve_zone(place).key == zone


def test_place_reading_matches_the_zone() -> None:
    """The time read for a place is the time in its zone (same offset)."""
    assert datetime.fromisoformat(current_time.function("Mumbai")).utcoffset() == timedelta(hours=5, minutes=30)


def test_every_listed_place_is_a_real_zone() -> None:
    """The place table only points at zones the zone database has."""
    for place, zone in PLACES.items():
        assert place == place.lower()
        assert resolve_zone(zone).key == zone, place


@pytest.mark.parametrize("country", ["the US", "USA", "Russia", "Australia", "canada"])
def test_countries_with_several_zones_ask_for_a_city(country: str) -> None:
    """A country spanning several zones is refused with a request for a city, never guessed."""
    with pytest.raises(ToolError, match="spans several time zones; name a city"):
        current_time.function(country)


def test_misspelt_city_suggests_the_city() -> None:
    with pytest.raises(ToolError, match="did you mean 'Tokyo'"):
        current_time.function("Tokio")


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
