"""The calculator tool: safe arithmetic through `ast`, with clear errors and bounded work."""

from __future__ import annotations

import pytest

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.toolkit import calculator
from agentflow.tooling import RunContext, execute_call


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23 + 4", 395),
        ("10 / 4", 2.5),
        ("10 / 2", 5),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("2 ** 10", 1024),
        ("2 ^ 10", 1024),
        ("3 × 4 ÷ 2", 6),  # noqa: RUF001
        ("-(2 + 3) * +4", -20),
        ("0.1 + 0.2", 0.3),
        ("sqrt(16)", 4),
        ("sqrt(2)", 1.41421356237),
        ("abs(-3.5)", 3.5),
        ("round(3.14159, 2)", 3.14),
        ("min(4, 2, 8) + max(1, 9)", 11),
        ("log(100, 10)", 2),
        ("log(e)", 1),
        ("exp(0)", 1),
        ("floor(2.7) + ceil(2.1)", 5),
        ("cos(0) + sin(0) + tan(0)", 1),
        ("2 * pi", 6.28318530718),
        ("2 ** -2", 0.25),
        ("1_000 * 3", 3000),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: float) -> None:
    """Supported operators, functions and constants give the exact expected value."""
    assert calculator.function(expression) == expected


def test_integral_results_are_ints() -> None:
    """An integral result comes back as an int (395, not 395.0); others as float."""
    assert type(calculator.function("790 / 2")) is int
    assert type(calculator.function("sqrt(2)")) is float


def test_floats_are_rounded_to_12_significant_digits() -> None:
    """Float noise beyond 12 significant digits is rounded away."""
    assert calculator.function("1 / 3") == 0.333333333333
    assert calculator.function("0.1 * 3") == 0.3


def test_large_exact_integers_survive() -> None:
    """Integer arithmetic stays exact rather than degrading to float."""
    assert calculator.function("2 ** 100") == 2**100


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "division by zero"),
        ("5 // 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("2 +", "invalid expression"),
        ("1,000 + 5", "thousands separators"),
        ("sqrt(-1)", "undefined"),
        ("log(0)", "undefined"),
        ("(-8) ** (1/3)", "complex"),
        ("x + 1", "unknown name 'x'"),
        ("sqrt", "is a function"),
        ("sqrt(1, 2)", "takes 1 argument"),
        ("round(1.5, ndigits=1)", "positional"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("1j", "only numbers"),
        ("[1, 2]", "unsupported syntax"),
        ("1 < 2", "unsupported syntax"),
        ("1 << 4", "unsupported operator"),
        ("   ", "empty"),
    ],
)
def test_bad_expressions_raise_tool_error(expression: str, message: str) -> None:
    """Errors in the expression raise `ToolError` with a message saying what is wrong."""
    with pytest.raises(ToolError, match=message):
        calculator.function(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "().__class__.__bases__",
        "open('/etc/passwd')",
        "eval('1')",
        "(lambda: 1)()",
        "[x for x in (1, 2)]",
        "math.sqrt(4)",
        "abs.__call__(1)",
    ],
)
def test_refuses_anything_but_arithmetic(expression: str) -> None:
    """Names, attributes, calls to non-whitelisted functions and other Python syntax are refused."""
    with pytest.raises(ToolError):
        calculator.function(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9 ** 9 ** 9", "exponent"),
        ("2 ** 1001", "exponent"),
        ("(10 ** 1000) ** 5", "too large"),
        ("(10 ** 999) * (10 ** 999) * (10 ** 999) * (10 ** 999) * (10 ** 999)", "too large"),
        ("1e308 * 10", "too large"),
        ("exp(1000)", "too large"),
        ("round(1, 10 ** 9)", "digits"),
    ],
)
def test_refuses_runaway_sizes(expression: str, message: str) -> None:
    """Huge exponents and results are refused before they can eat the CPU or memory."""
    with pytest.raises(ToolError, match=message):
        calculator.function(expression)


def test_tool_metadata() -> None:
    """The calculator is read-only, idempotent, and its schema caps the expression length."""
    assert calculator.name == "calculator"
    assert calculator.read_only and calculator.idempotent and not calculator.destructive
    schema = calculator.parameters["properties"]["expression"]
    assert schema["maxLength"] == 200
    assert schema["description"]


@pytest.mark.anyio
async def test_through_execute_call() -> None:
    """Through the executor a result is the observation text, and an error an error observation."""
    tools = {calculator.name: calculator}
    ctx = RunContext(run_id="r")
    ok = await execute_call(ToolCall(name="calculator", arguments={"expression": "17*23+4"}), tools, ctx)
    assert (ok.content, ok.is_error, ok.result) == ("395", False, 395)
    bad = await execute_call(ToolCall(name="calculator", arguments={"expression": "1/0"}), tools, ctx)
    assert bad.is_error and bad.error_type == "ToolError"
    assert "division by zero" in bad.content


@pytest.mark.anyio
async def test_overlong_expression_rejected_by_schema() -> None:
    """An expression over 200 characters is rejected as an invalid argument before evaluation."""
    call = ToolCall(name="calculator", arguments={"expression": "1+" * 150 + "1"})
    outcome = await execute_call(call, {"calculator": calculator}, RunContext(run_id="r"))
    assert outcome.error_type == "invalid_arguments"
    assert "argument 'expression'" in outcome.content and "200" in outcome.content
