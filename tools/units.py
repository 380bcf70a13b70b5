"""`convert_units`: table-driven unit conversion (length, mass, volume, time, speed, area, temperature, data).

Every unit is `value_in_base = value * scale + offset` in its dimension's base unit; the offset is non-zero
only for Celsius and Fahrenheit. Names are matched exactly first (so `B` byte and `b` bit differ), then
case-insensitively, then with plurals stripped.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

from agentflow.exceptions import ToolError
from agentflow.tooling import tool

__all__ = ["convert_units"]

SIGNIFICANT_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Unit:
    symbol: str
    dimension: str
    scale: float
    offset: float = 0.0


# (symbol, scale to the base unit, aliases); the symbol is what results are reported in.
_TABLE: dict[str, list[tuple[str, float, tuple[str, ...]]]] = {
    "length": [  # base: metre
        ("m", 1.0, ("meter", "metre")),
        ("km", 1000.0, ("kilometer", "kilometre")),
        ("cm", 0.01, ("centimeter", "centimetre")),
        ("mm", 0.001, ("millimeter", "millimetre")),
        ("µm", 1e-6, ("um", "μm", "micrometer", "micrometre", "micron")),
        ("nm", 1e-9, ("nanometer", "nanometre")),
        ("mi", 1609.344, ("mile",)),
        ("yd", 0.9144, ("yard",)),
        ("ft", 0.3048, ("foot", "feet", "'")),
        ("in", 0.0254, ("inch", '"')),
        ("nmi", 1852.0, ("nautical mile",)),
    ],
    "mass": [  # base: kilogram
        ("kg", 1.0, ("kilogram", "kilo")),
        ("g", 0.001, ("gram", "gramme")),
        ("mg", 1e-6, ("milligram",)),
        ("µg", 1e-9, ("ug", "μg", "microgram", "mcg")),
        ("t", 1000.0, ("tonne", "metric ton")),
        ("lb", 0.45359237, ("lbs", "pound")),
        ("oz", 0.028349523125, ("ounce",)),
        ("st", 6.35029318, ("stone",)),
        ("short ton", 907.18474, ("ton", "us ton")),
        ("long ton", 1016.0469088, ("imperial ton", "uk ton")),
    ],
    "volume": [  # base: litre
        ("L", 1.0, ("l", "liter", "litre")),
        ("mL", 0.001, ("ml", "milliliter", "millilitre")),
        ("cL", 0.01, ("cl", "centiliter", "centilitre")),
        ("m³", 1000.0, ("m3", "m^3", "cubic meter", "cubic metre")),
        ("cm³", 0.001, ("cm3", "cm^3", "cc", "cubic centimeter", "cubic centimetre")),
        ("gal", 3.785411784, ("gallon", "us gallon")),
        ("imp gal", 4.54609, ("imperial gallon", "uk gallon")),
        ("qt", 0.946352946, ("quart",)),
        ("pt", 0.473176473, ("pint",)),
        ("cup", 0.2365882365, ()),
        ("fl oz", 0.0295735295625, ("floz", "fluid ounce")),
        ("tbsp", 0.01478676478125, ("tablespoon",)),
        ("tsp", 0.00492892159375, ("teaspoon",)),
        ("ft³", 28.316846592, ("ft3", "ft^3", "cubic foot", "cubic feet")),
        ("in³", 0.016387064, ("in3", "in^3", "cubic inch")),
    ],
    "time": [  # base: second; a year is 365.25 days (Julian), a month a twelfth of that
        ("s", 1.0, ("sec", "second")),
        ("ms", 1e-3, ("millisecond",)),
        ("µs", 1e-6, ("us", "μs", "microsecond")),
        ("ns", 1e-9, ("nanosecond",)),
        ("min", 60.0, ("minute",)),
        ("h", 3600.0, ("hr", "hour")),
        ("d", 86400.0, ("day",)),
        ("wk", 604800.0, ("week",)),
        ("month", 2629800.0, ("mo",)),
        ("yr", 31557600.0, ("year", "y")),
    ],
    "speed": [  # base: metre per second
        ("m/s", 1.0, ("mps", "meter per second", "metre per second")),
        ("km/h", 1 / 3.6, ("kph", "kmh", "kmph", "km/hr", "kilometer per hour", "kilometre per hour")),
        ("mph", 0.44704, ("mi/h", "mi/hr", "mile per hour")),
        ("kn", 1852 / 3600, ("kt", "knot")),
        ("ft/s", 0.3048, ("fps", "foot per second", "feet per second")),
    ],
    "area": [  # base: square metre
        ("m²", 1.0, ("m2", "m^2", "sq m", "square meter", "square metre")),
        ("km²", 1e6, ("km2", "km^2", "sq km", "square kilometer", "square kilometre")),
        ("cm²", 1e-4, ("cm2", "cm^2", "sq cm", "square centimeter", "square centimetre")),
        ("mm²", 1e-6, ("mm2", "mm^2", "sq mm", "square millimeter", "square millimetre")),
        ("ha", 1e4, ("hectare",)),
        ("acre", 4046.8564224, ("ac",)),
        ("ft²", 0.09290304, ("ft2", "ft^2", "sq ft", "square foot", "square feet")),
        ("in²", 0.00064516, ("in2", "in^2", "sq in", "square inch")),
        ("yd²", 0.83612736, ("yd2", "yd^2", "sq yd", "square yard")),
        ("mi²", 2589988.110336, ("mi2", "mi^2", "sq mi", "square mile")),
    ],
    "data": [  # base: byte; kB/MB/... are decimal, KiB/MiB/... binary
        ("B", 1.0, ("byte", "octet")),
        ("bit", 0.125, ("b",)),
        ("kB", 1e3, ("kilobyte", "kb", "KB")),
        ("MB", 1e6, ("megabyte",)),
        ("GB", 1e9, ("gigabyte",)),
        ("TB", 1e12, ("terabyte",)),
        ("PB", 1e15, ("petabyte",)),
        ("KiB", 1024.0, ("kibibyte",)),
        ("MiB", 1024.0**2, ("mebibyte",)),
        ("GiB", 1024.0**3, ("gibibyte",)),
        ("TiB", 1024.0**4, ("tebibyte",)),
        ("PiB", 1024.0**5, ("pebibyte",)),
        ("kbit", 125.0, ("kilobit", "Kb")),
        ("Mbit", 1.25e5, ("megabit", "Mb")),
        ("Gbit", 1.25e8, ("gigabit", "Gb")),
        ("Tbit", 1.25e11, ("terabit", "Tb")),
    ],
}

# Temperature needs offsets: kelvin = value * scale + offset.
_TEMPERATURES: list[tuple[Unit, tuple[str, ...]]] = [
    (Unit("K", "temperature", 1.0), ("kelvin", "°K")),
    (Unit("°C", "temperature", 1.0, 273.15), ("C", "celsius", "centigrade", "degc")),
    (Unit("°F", "temperature", 5 / 9, 273.15 - 32 * 5 / 9), ("F", "fahrenheit", "degf")),
    (Unit("°R", "temperature", 5 / 9), ("R", "rankine")),
]


def _build_index() -> tuple[dict[str, Unit], dict[str, Unit]]:
    exact: dict[str, Unit] = {}
    folded: dict[str, Unit] = {}
    entries: list[tuple[Unit, tuple[str, ...]]] = [
        (Unit(symbol, dimension, scale), aliases)
        for dimension, rows in _TABLE.items()
        for symbol, scale, aliases in rows
    ] + _TEMPERATURES
    for unit, aliases in entries:
        for name in (unit.symbol, *aliases):
            if name in exact:
                raise AssertionError(f"unit name {name!r} is defined twice")
            exact[name] = unit
    # Case-insensitive matches: the first definition of a folded name wins ("mb" is a megabyte, "b" a bit
    # only when written exactly so), so byte units are registered before the bit units they clash with.
    for name, unit in exact.items():
        folded.setdefault(_fold(name), unit)
    return exact, folded


def _fold(name: str) -> str:
    text = name.strip().lower().replace("²", "2").replace("³", "3").replace("μ", "µ").replace("sq. ", "sq ")
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"^(degrees?|deg\.?) (?=\S)", "", text)  # "degrees Fahrenheit", "deg C"


def _singular(word: str) -> list[str]:
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        options = [word[:-1]]
        if word.endswith("es"):
            options.append(word[:-2])
        return options
    return []


_EXACT, _FOLDED = _build_index()


def lookup(name: str) -> Unit:
    """The unit called `name` (symbol, name, plural or abbreviation); `ToolError` with suggestions if none."""
    if name in _EXACT:
        return _EXACT[name]
    if name.strip() in _EXACT:
        return _EXACT[name.strip()]
    folded = _fold(name)
    if folded in _FOLDED:
        return _FOLDED[folded]
    # Plurals: "miles", "inches", "kilometers per hour", "degrees fahrenheit".
    words = folded.split(" ")
    for index, word in enumerate(words):
        for singular in _singular(word):
            candidate = " ".join([*words[:index], singular, *words[index + 1 :]])
            if candidate in _FOLDED:
                return _FOLDED[candidate]
    close = difflib.get_close_matches(folded, list(_FOLDED), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else (
        f"; supported kinds: {', '.join([*_TABLE, 'temperature'])}")
    raise ToolError(f"unknown unit '{name}'{hint}")


def _significant(value: float) -> int | float:
    rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if rounded == 0:
        return 0
    if rounded.is_integer() and abs(rounded) < 1e15:
        return int(rounded)
    return rounded


def convert(value: float, from_unit: str, to_unit: str) -> dict[str, int | float | str]:
    source, target = lookup(from_unit), lookup(to_unit)
    if source.dimension != target.dimension:
        raise ToolError(f"cannot convert '{from_unit}' ({source.dimension}) to '{to_unit}' ({target.dimension})")
    base = value * source.scale + source.offset
    if source.dimension == "temperature" and base < 0:
        raise ToolError(f"{value:g} {source.symbol} is below absolute zero")
    result = (base - target.offset) / target.scale
    if not math.isfinite(result):
        raise ToolError("the converted value is too large to represent")
    return {"value": _significant(result), "unit": target.symbol}


@tool(read_only=True)
def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, int | float | str]:
    """Convert a quantity between units of length, mass, volume, time, speed, area, temperature or data size.

    Units may be symbols, names or plurals, in any case: "km", "kilometers", "mi", "lb", "pounds", "°F",
    "fahrenheit", "km/h", "mph", "sq ft", "GiB". US customary volumes (gallon, cup, fl oz); a year is 365.25
    days. Returns {"value": ..., "unit": ...} with 6 significant digits.
    """
    if not math.isfinite(value):
        raise ToolError("value must be a finite number")
    return convert(value, from_unit, to_unit)
