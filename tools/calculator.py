"""`calculator`: safe arithmetic for models, which are bad at it.

The expression is parsed with `ast` and only a whitelist of nodes is evaluated (numbers, + - * / // % **,
unary signs, a few math functions, `pi` and `e`); nothing is ever passed to `eval`. Sizes are capped so an
expression like `9**9**9` is refused instead of eating the CPU.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Annotated

from pydantic import Field

from agentflow.exceptions import ToolError
from agentflow.tooling import tool

__all__ = ["calculator"]

MAX_EXPONENT = 1000
# Python refuses to print ints over 4300 digits, so a bigger result could not even reach the model.
MAX_DIGITS = 4000
SIGNIFICANT_DIGITS = 12

_REPLACEMENTS = {"^": "**", "×": "*", "÷": "/", "−": "-"}  # noqa: RUF001 (the look-alikes are the point)

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _round(x: float, ndigits: int = 0) -> float:
    if not isinstance(ndigits, int) or abs(ndigits) > 100:
        raise ToolError("round(): the number of digits must be a whole number between -100 and 100")
    return round(x, ndigits)


def _min(*args: float) -> float:
    return min(args)


def _max(*args: float) -> float:
    return max(args)


def _log(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


# name -> (function, min number of arguments, max number of arguments)
_FUNCTIONS: dict[str, tuple[Callable[..., float], int, int]] = {
    "sqrt": (math.sqrt, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (_min, 1, 50),
    "max": (_max, 1, 50),
    "log": (_log, 1, 2),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
}

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
}

_ALLOWED_TEXT = ("numbers, + - * / // % ** (or ^), parentheses, pi, e and "
                 + ", ".join(f"{name}()" for name in _FUNCTIONS))


def _digits(n: int) -> int:
    """Roughly how many decimal digits `n` has, without converting it to a string."""
    return int(abs(n).bit_length() * 0.30103) + 1


def _checked(value: float) -> float:
    if isinstance(value, complex):
        raise ToolError("the result is a complex number (e.g. a fractional power of a negative number)")
    if isinstance(value, int) and _digits(value) > MAX_DIGITS:
        raise ToolError(f"the result is too large (more than {MAX_DIGITS} digits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is too large to represent (overflow)")
    return value


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolError(f"exponent {_number_text(exponent)} is too large (at most {MAX_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if _digits(base) * exponent > MAX_DIGITS * 1.1:
            raise ToolError(f"the result is too large (more than {MAX_DIGITS} digits)")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 cannot be raised to a negative power")
    return base**exponent


class _Evaluator:
    def visit(self, node: ast.AST) -> float:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ToolError(f"unsupported syntax: {_describe(node)}; allowed: {_ALLOWED_TEXT}")
        return _checked(method(node))

    def _Expression(self, node: ast.Expression) -> float:
        return self.visit(node.body)

    def _Constant(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"unsupported value {value!r}; only numbers are allowed")
        return value

    def _Name(self, node: ast.Name) -> float:
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _FUNCTIONS:
            raise ToolError(f"'{node.id}' is a function: call it like {node.id}(2)")
        raise ToolError(f"unknown name '{node.id}'; allowed: {_ALLOWED_TEXT}")

    def _UnaryOp(self, node: ast.UnaryOp) -> float:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        raise ToolError(f"unsupported operator {_describe(node)}; allowed: {_ALLOWED_TEXT}")

    def _BinOp(self, node: ast.BinOp) -> float:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ToolError(f"unsupported operator {_describe(node)}; allowed: {_ALLOWED_TEXT}")
        return operation(left, right)

    def _Call(self, node: ast.Call) -> float:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS:
            raise ToolError(f"unknown function {_describe(node.func)}; allowed: {_ALLOWED_TEXT}")
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ToolError(f"{name}() takes plain positional arguments only")
        function, low, high = _FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise ToolError(f"{name}() takes {expected} argument(s), got {len(node.args)}")
        args = [self.visit(arg) for arg in node.args]
        try:
            return function(*args)
        except ValueError as exc:  # math domain errors: sqrt(-1), log(0)
            raise ToolError(f"{name}() is undefined for {', '.join(_number_text(a) for a in args)} ({exc})") from None

    def _Tuple(self, node: ast.Tuple) -> float:
        raise ToolError("commas are only allowed between function arguments, as in max(1, 2); "
                        "write numbers without thousands separators (1000, not 1,000)")


def _number_text(value: float) -> str:
    if isinstance(value, int) and _digits(value) > 20:
        return f"a {_digits(value)}-digit number"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _describe(node: ast.AST) -> str:
    try:
        return f"'{ast.unparse(node)}'"
    except Exception:
        return type(node).__name__


def _normalise(value: float) -> int | float:
    if isinstance(value, int):
        return value
    value = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def evaluate(expression: str) -> int | float:
    """Evaluate `expression` safely; `ToolError` says what is wrong with it."""
    text = expression.strip()
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    if not text:
        raise ToolError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at position {exc.offset}" if exc.offset else ""
        raise ToolError(f"invalid expression{where}: {exc.msg}; allowed: {_ALLOWED_TEXT}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ToolError(f"invalid expression: {exc}") from None
    try:
        return _normalise(_Evaluator().visit(tree))
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("the result is too large to represent (overflow)") from None
    except RecursionError:
        raise ToolError("the expression is nested too deeply") from None


@tool(read_only=True)
def calculator(
    expression: Annotated[
        str,
        Field(max_length=200, description="Arithmetic expression, e.g. '(3.5 + 2) * 4 ^ 2' or 'sqrt(2) / 3'."),
    ],
) -> int | float:
    """Evaluate an arithmetic expression exactly instead of doing the maths in your head.

    Supports numbers, + - * / // % and ** (or ^), parentheses, the constants pi and e, and the functions
    sqrt, abs, round, min, max, log (natural, or log(x, base)), exp, sin, cos, tan (radians), floor, ceil.
    Returns a whole number when the result is integral, otherwise a float with 12 significant digits.
    """
    return evaluate(expression)
