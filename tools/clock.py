"""`current_time`: the current date and time in a time zone, so the model need not guess it."""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from datetime import datetime

from agentflow.exceptions import ToolError
from agentflow.tools import tool

__all__ = ["current_time"]

_ALIASES = {"utc": "UTC", "z": "UTC", "gmt": "UTC", "zulu": "UTC"}


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone name keyed by its lower-case spelling."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def resolve_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone called `name` (IANA name, any case; "UTC"/"Z"/"GMT"); `ToolError` with suggestions if none."""
    key = name.strip()
    canonical = _ALIASES.get(key.lower()) or _zone_names().get(key.lower().replace(" ", "_"))
    if canonical is not None:
        return zoneinfo.ZoneInfo(canonical)
    close = difflib.get_close_matches(key.lower().replace(" ", "_"), list(_zone_names()), n=3, cutoff=0.6)
    hint = (f"; did you mean {', '.join(repr(_zone_names()[c]) for c in close)}?" if close
            else "; use an IANA name such as 'Europe/Paris' or 'America/New_York'")
    raise ToolError(f"unknown time zone '{name}'{hint}")


@tool(read_only=True)
def current_time(timezone: str = "UTC") -> str:
    """Get the current date and time as ISO 8601 with the UTC offset, e.g. 2025-03-01T14:05:09+01:00.

    `timezone` is an IANA zone name such as "Europe/Paris", "America/New_York" or "UTC" (the default).
    """
    return datetime.now(resolve_zone(timezone)).isoformat(timespec="seconds")
