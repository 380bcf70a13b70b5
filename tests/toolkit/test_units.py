"""The unit conversion tool: table-driven, forgiving about names, strict about dimensions."""

from __future__ import annotations

import pytest

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.toolkit import convert_units
from agentflow.tooling import RunContext, execute_call


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (10, "km", "mi", {"value": 6.21371, "unit": "mi"}),
        (10, "kilometers", "miles", {"value": 6.21371, "unit": "mi"}),
        (3, "inches", "cm", {"value": 7.62, "unit": "cm"}),
        (2, "feet", "m", {"value": 0.6096, "unit": "m"}),
        (1, "lb", "kg", {"value": 0.453592, "unit": "kg"}),
        (5, "Pounds", "grams", {"value": 2267.96, "unit": "g"}),
        (1, "gal", "L", {"value": 3.78541, "unit": "L"}),
        (1, "fl oz", "mL", {"value": 29.5735, "unit": "mL"}),
        (1.5, "hours", "min", {"value": 90, "unit": "min"}),
        (1, "year", "days", {"value": 365.25, "unit": "d"}),
        (100, "km/h", "mph", {"value": 62.1371, "unit": "mph"}),
        (60, "miles per hour", "kilometers per hour", {"value": 96.5606, "unit": "km/h"}),
        (1, "acre", "sq ft", {"value": 43560, "unit": "ft²"}),
        (1, "m²", "ft2", {"value": 10.7639, "unit": "ft²"}),
        (1, "GiB", "MB", {"value": 1073.74, "unit": "MB"}),
        (1, "MB", "MiB", {"value": 0.953674, "unit": "MiB"}),
    ],
)
def test_converts(value: float, from_unit: str, to_unit: str, expected: dict) -> None:
    """Conversions across dimensions give the expected value, rounded to 6 significant digits."""
    assert convert_units.function(value, from_unit, to_unit) == expected


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (212, "°F", "C", 100),
        (100, "celsius", "fahrenheit", 212),
        (-40, "F", "°C", -40),
        (0, "K", "celsius", -273.15),
        (0, "degrees Celsius", "kelvin", 273.15),
        (98.6, "Fahrenheit", "K", 310.15),
        (0, "°R", "K", 0),
    ],
)
def test_temperatures_use_offsets(value: float, from_unit: str, to_unit: str, expected: float) -> None:
    """Temperature scales convert with their offsets, not just a factor."""
    assert convert_units.function(value, from_unit, to_unit)["value"] == expected


@pytest.mark.parametrize(("name", "symbol"), [("KM", "km"), ("Miles", "mi"), ("LBS", "lb"), ("°f", "°F"),
                                               ("Kilometres", "km"), ("HRS", "h"), ("square meters", "m²")])
def test_names_are_case_insensitive_and_plural(name: str, symbol: str) -> None:
    """Unit names match in any case, singular or plural, and results report the unit's symbol."""
    assert convert_units.function(1, name, symbol)["value"] == 1


def test_case_distinguishes_bits_from_bytes() -> None:
    """An exact `b` is a bit and `B` a byte; `Mb` is a megabit but lower-case `mb` a megabyte."""
    assert convert_units.function(8, "b", "B")["value"] == 1
    assert convert_units.function(1, "Mb", "MB")["value"] == 0.125
    assert convert_units.function(1, "mb", "kB")["value"] == 1000


def test_integral_values_are_ints() -> None:
    """A whole-number result is an int, so the observation reads 1000 rather than 1000.0."""
    assert type(convert_units.function(1, "km", "m")["value"]) is int


def test_unknown_unit_suggests_close_matches() -> None:
    """An unknown unit raises `ToolError` naming it and suggesting similar known names."""
    with pytest.raises(ToolError, match=r"unknown unit 'kilometrs'.*did you mean.*'kilometer'"):
        convert_units.function(1, "kilometrs", "m")


def test_unknown_unit_without_close_match_lists_kinds() -> None:
    """A unit with no close match gets the list of supported kinds instead."""
    with pytest.raises(ToolError, match=r"unknown unit 'xyzzy'.*supported kinds: length"):
        convert_units.function(1, "m", "xyzzy")


def test_incompatible_dimensions() -> None:
    """Converting between dimensions raises `ToolError` naming both dimensions."""
    with pytest.raises(ToolError, match=r"cannot convert 'kg' \(mass\) to 'm' \(length\)"):
        convert_units.function(1, "kg", "m")


def test_below_absolute_zero() -> None:
    """A temperature below absolute zero is refused."""
    with pytest.raises(ToolError, match="absolute zero"):
        convert_units.function(-500, "°F", "°C")


def test_non_finite_values_refused() -> None:
    """Infinite inputs and overflowing results raise `ToolError` rather than returning inf."""
    with pytest.raises(ToolError, match="finite"):
        convert_units.function(float("inf"), "m", "km")
    with pytest.raises(ToolError, match="too large"):
        convert_units.function(1e300, "km", "nm")


def test_tool_metadata() -> None:
    """The tool is read-only and its schema has the three required arguments."""
    assert convert_units.read_only and convert_units.idempotent
    assert convert_units.parameters["required"] == ["value", "from_unit", "to_unit"]


@pytest.mark.anyio
async def test_through_execute_call() -> None:
    """Through the executor the result is JSON, and an unknown unit an error observation."""
    tools = {convert_units.name: convert_units}
    ctx = RunContext(run_id="r")
    ok = await execute_call(
        ToolCall(name="convert_units", arguments={"value": 10, "from_unit": "km", "to_unit": "mi"}), tools, ctx)
    assert not ok.is_error
    assert ok.content == '{"value": 6.21371, "unit": "mi"}'
    bad = await execute_call(
        ToolCall(name="convert_units", arguments={"value": 1, "from_unit": "parsec", "to_unit": "m"}), tools, ctx)
    assert bad.is_error and "unknown unit 'parsec'" in bad.content


def test_every_unit_name_resolves_to_its_own_unit() -> None:
    """Each symbol and alias in the table converts 1:1 to its own unit's symbol (no clashing names)."""
    from agentflow.toolkit import units

    for name, unit in units._EXACT.items():
        assert convert_units.function(1, name, unit.symbol) == {"value": 1, "unit": unit.symbol}, name
