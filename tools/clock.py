"""`current_time`: the current date and time in a time zone, so the model need not guess it.

The zone may be named the way people name it, not only by its IANA name: "Tokyo", "New York" or "Buenos Aires"
(the city part of a zone name), a city whose zone is named after another ("Mumbai" -> Asia/Kolkata), or a
country or region with one zone ("Japan", "Hawaii"). A small model then only has to copy the place from the
request instead of knowing the zone database; a large one can still pass "Asia/Tokyo". Countries that span
several zones ("the US", "Russia") are refused with a request for a city, never guessed.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from datetime import datetime

from agentflow.exceptions import ToolError
from agentflow.tooling import tool

__all__ = ["current_time", "resolve_zone"]

_UTC = ("utc", "z", "gmt", "zulu", "zulu time", "coordinated universal time", "greenwich mean time", "utc time",
        "gmt time", "universal time")

# Places whose name is not the city part of their zone's IANA name: cities inside another city's zone, and
# countries and regions with one zone (or one used nationally). Lower-case keys.
PLACES: dict[str, str] = {
    # cities
    "istanbul": "Europe/Istanbul", "mumbai": "Asia/Kolkata", "bombay": "Asia/Kolkata", "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata", "chennai": "Asia/Kolkata", "hyderabad": "Asia/Kolkata",
    "calcutta": "Asia/Kolkata", "pune": "Asia/Kolkata", "beijing": "Asia/Shanghai", "shenzhen": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai", "chengdu": "Asia/Shanghai", "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles", "san diego": "America/Los_Angeles", "las vegas": "America/Los_Angeles",
    "portland": "America/Los_Angeles", "boston": "America/New_York", "washington": "America/New_York",
    "washington dc": "America/New_York", "washington d.c.": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "philadelphia": "America/New_York", "dallas": "America/Chicago",
    "houston": "America/Chicago", "austin": "America/Chicago", "minneapolis": "America/Chicago",
    "new orleans": "America/Chicago", "salt lake city": "America/Denver", "montreal": "America/Toronto",
    "ottawa": "America/Toronto", "calgary": "America/Edmonton", "rio de janeiro": "America/Sao_Paulo",
    "rio": "America/Sao_Paulo", "brasilia": "America/Sao_Paulo", "munich": "Europe/Berlin",
    "hamburg": "Europe/Berlin", "frankfurt": "Europe/Berlin", "cologne": "Europe/Berlin", "milan": "Europe/Rome",
    "naples": "Europe/Rome", "florence": "Europe/Rome", "venice": "Europe/Rome", "barcelona": "Europe/Madrid",
    "seville": "Europe/Madrid", "valencia": "Europe/Madrid", "manchester": "Europe/London",
    "edinburgh": "Europe/London", "glasgow": "Europe/London", "birmingham": "Europe/London",
    "liverpool": "Europe/London", "cardiff": "Europe/London", "geneva": "Europe/Zurich", "bern": "Europe/Zurich",
    "basel": "Europe/Zurich", "lyon": "Europe/Paris", "marseille": "Europe/Paris", "nice": "Europe/Paris",
    "rotterdam": "Europe/Amsterdam", "the hague": "Europe/Amsterdam", "antwerp": "Europe/Brussels",
    "krakow": "Europe/Warsaw", "porto": "Europe/Lisbon", "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow", "osaka": "Asia/Tokyo", "kyoto": "Asia/Tokyo", "yokohama": "Asia/Tokyo",
    "busan": "Asia/Seoul", "abu dhabi": "Asia/Dubai", "cape town": "Africa/Johannesburg",
    "pretoria": "Africa/Johannesburg", "durban": "Africa/Johannesburg", "abuja": "Africa/Lagos",
    "hanoi": "Asia/Bangkok", "saigon": "Asia/Ho_Chi_Minh", "ho chi minh city": "Asia/Ho_Chi_Minh",
    "canberra": "Australia/Sydney", "wellington": "Pacific/Auckland", "singapore city": "Asia/Singapore",
    "tel aviv": "Asia/Jerusalem", "mecca": "Asia/Riyadh", "jeddah": "Asia/Riyadh", "doha": "Asia/Qatar",
    "islamabad": "Asia/Karachi", "lahore": "Asia/Karachi", "rangoon": "Asia/Yangon", "peking": "Asia/Shanghai",
    # countries and regions
    "japan": "Asia/Tokyo", "france": "Europe/Paris", "germany": "Europe/Berlin", "italy": "Europe/Rome",
    "spain": "Europe/Madrid", "india": "Asia/Kolkata", "china": "Asia/Shanghai", "uk": "Europe/London",
    "the uk": "Europe/London", "united kingdom": "Europe/London", "the united kingdom": "Europe/London",
    "britain": "Europe/London", "great britain": "Europe/London", "england": "Europe/London",
    "scotland": "Europe/London", "wales": "Europe/London", "ireland": "Europe/Dublin",
    "south korea": "Asia/Seoul", "korea": "Asia/Seoul", "north korea": "Asia/Pyongyang", "thailand": "Asia/Bangkok",
    "egypt": "Africa/Cairo", "kenya": "Africa/Nairobi", "nigeria": "Africa/Lagos", "ghana": "Africa/Accra",
    "ethiopia": "Africa/Addis_Ababa", "south africa": "Africa/Johannesburg", "morocco": "Africa/Casablanca",
    "tunisia": "Africa/Tunis", "algeria": "Africa/Algiers", "turkey": "Europe/Istanbul", "turkiye": "Europe/Istanbul",
    "greece": "Europe/Athens", "poland": "Europe/Warsaw", "sweden": "Europe/Stockholm", "norway": "Europe/Oslo",
    "finland": "Europe/Helsinki", "portugal": "Europe/Lisbon", "netherlands": "Europe/Amsterdam",
    "the netherlands": "Europe/Amsterdam", "holland": "Europe/Amsterdam", "belgium": "Europe/Brussels",
    "austria": "Europe/Vienna", "switzerland": "Europe/Zurich", "denmark": "Europe/Copenhagen",
    "czechia": "Europe/Prague", "czech republic": "Europe/Prague", "the czech republic": "Europe/Prague",
    "hungary": "Europe/Budapest", "romania": "Europe/Bucharest", "bulgaria": "Europe/Sofia", "serbia": "Europe/Belgrade",
    "croatia": "Europe/Zagreb", "slovakia": "Europe/Bratislava", "slovenia": "Europe/Ljubljana",
    "latvia": "Europe/Riga", "lithuania": "Europe/Vilnius", "estonia": "Europe/Tallinn", "belarus": "Europe/Minsk",
    "ukraine": "Europe/Kyiv", "iceland": "Atlantic/Reykjavik", "israel": "Asia/Jerusalem", "iran": "Asia/Tehran",
    "iraq": "Asia/Baghdad", "saudi arabia": "Asia/Riyadh", "the uae": "Asia/Dubai", "uae": "Asia/Dubai",
    "united arab emirates": "Asia/Dubai", "the united arab emirates": "Asia/Dubai", "oman": "Asia/Muscat",
    "afghanistan": "Asia/Kabul", "pakistan": "Asia/Karachi", "bangladesh": "Asia/Dhaka", "nepal": "Asia/Kathmandu",
    "sri lanka": "Asia/Colombo", "myanmar": "Asia/Yangon", "vietnam": "Asia/Ho_Chi_Minh", "malaysia": "Asia/Kuala_Lumpur",
    "the philippines": "Asia/Manila", "philippines": "Asia/Manila", "taiwan": "Asia/Taipei",
    "uzbekistan": "Asia/Tashkent", "georgia": "Asia/Tbilisi", "armenia": "Asia/Yerevan", "azerbaijan": "Asia/Baku",
    "peru": "America/Lima", "colombia": "America/Bogota", "venezuela": "America/Caracas", "cuba": "America/Havana",
    "uruguay": "America/Montevideo", "argentina": "America/Argentina/Buenos_Aires", "chile": "America/Santiago",
    "new zealand": "Pacific/Auckland", "hawaii": "Pacific/Honolulu", "alaska": "America/Anchorage",
    "arizona": "America/Phoenix", "indonesia": "Asia/Jakarta", "java": "Asia/Jakarta", "bali": "Asia/Makassar",
}
# Countries that span several zones: asking for a city beats guessing one.
_SEVERAL_ZONES = frozenset({
    "us", "the us", "usa", "the usa", "united states", "the united states", "america", "canada", "russia",
    "brazil", "australia", "mexico", "kazakhstan", "the drc", "mongolia",
})
_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
            "Pacific")


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone name keyed by its lower-case spelling."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@functools.cache
def _city_names() -> dict[str, str]:
    """The city part of every regional zone name ("buenos aires" -> America/Argentina/Buenos_Aires); where two
    zones share it (a zone and its old alias), the longer, more specific name wins."""
    cities: dict[str, str] = {}
    for name in sorted(_zone_names().values(), key=lambda n: (-n.count("/"), n)):
        if name.split("/", 1)[0] in _REGIONS and "/" in name:
            cities.setdefault(name.rsplit("/", 1)[1].replace("_", " ").lower(), name)
    return cities


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip("?.!").replace("_", " ")).lower()


def resolve_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone `name` stands for: an IANA name (any case), "UTC"/"GMT"/"Z", a city or a one-zone country
    ("Paris, France" tries "Paris"); `ToolError` with suggestions if none."""
    key = _normal(name)
    candidates = [key] + ([_normal(key.split(",", 1)[0])] if "," in key else [])
    for k in candidates:
        if k in _UTC:
            return zoneinfo.ZoneInfo("UTC")
        iana = _zone_names().get(k.replace(" ", "_"))
        # "Asia/Tokyo" first; then places ("Japan"), which beat the legacy one-word zone names ("Japan", "Cuba")
        canonical = (iana if iana and "/" in iana else None) or PLACES.get(k) or _city_names().get(k) or iana
        if canonical is not None:
            return zoneinfo.ZoneInfo(canonical)
        if k in _SEVERAL_ZONES:
            raise ToolError(f"'{name}' spans several time zones; name a city, e.g. 'New York' or 'America/Chicago'")
    known = list(_zone_names()) + list(PLACES) + list(_city_names())
    close = difflib.get_close_matches(key.replace(" ", "_") if "/" in key else key, known, n=3, cutoff=0.6)
    hint = (f"; did you mean {', '.join(repr(_zone_names().get(c) or c.title()) for c in close)}?" if close
            else "; use a city ('Paris'), a country with one zone ('Japan') or an IANA name ('Europe/Paris')")
    raise ToolError(f"unknown time zone '{name}'{hint}")


@tool(read_only=True)
def current_time(timezone: str = "UTC") -> str:
    """Get the current date and time as ISO 8601 with the UTC offset, e.g. 2025-03-01T14:05:09+01:00.

    `timezone` is an IANA zone name such as "Europe/Paris" or "America/New_York", "UTC" (the default), or a
    place: a city ("Tokyo", "Mumbai") or a country with one time zone ("Japan").
    """
    return datetime.now(resolve_zone(timezone)).isoformat(timespec="seconds")
