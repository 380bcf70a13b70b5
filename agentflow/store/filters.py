"""Metadata filters of store searches, with LangGraph's semantics (`InMemoryStore`, `PostgresStore`).

A filter maps a top-level field of an item's value to what it must be: a plain value (equal; a nested dict
matches when each of its keys matches, a list must be equal element by element) or a dict of operators
(`$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`). `matches` is the reference; `sql_prefilter` turns the parts
that SQLite's `json_extract` can decide exactly into SQL (scalar equality and numeric comparisons), so a
backend reads fewer rows — and still checks every row with `matches`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentflow.exceptions import ConfigError

__all__ = ["OPERATORS", "check_filter", "matches", "sql_prefilter"]

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
_SQL_OPS = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def check_filter(filter: Mapping[str, Any] | None) -> None:
    """Raise `ConfigError` for an operator the stores do not know (say which, and the known ones)."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith("$") and key not in OPERATORS:
                    raise ConfigError(
                        f"filter {where}: unknown operator {key!r} (known: {', '.join(OPERATORS)})"
                    )
                walk(value, f"{where}.{key}" if where else str(key))

    walk(dict(filter or {}), "")


def matches(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value passes `filter` (LangGraph's semantics)."""
    return all(_compare(value.get(key), expected) for key, expected in (filter or {}).items())


def _compare(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in expected):
            return all(_operator(actual, op, operand) for op, operand in expected.items())
        if not isinstance(actual, Mapping):
            return False
        return all(_compare(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_compare(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _operator(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(actual == operand)
    if op == "$ne":
        return bool(actual != operand)
    try:
        a, b = float(actual), float(operand)
    except (TypeError, ValueError):
        return False  # LangGraph's InMemoryStore raises here; a non-number simply does not match
    if op == "$gt":
        return a > b
    if op == "$gte":
        return a >= b
    if op == "$lt":
        return a < b
    if op == "$lte":
        return a <= b
    raise ConfigError(f"unknown filter operator {op!r} (known: {', '.join(OPERATORS)})")


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def sql_prefilter(filter: Mapping[str, Any] | None, column: str) -> tuple[list[str], list[Any]]:
    """SQL conditions (and parameters) on the JSON text column `column` that every matching row satisfies:
    a necessary condition only, so rows must still pass `matches`."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, expected in (filter or {}).items():
        if not isinstance(key, str) or not key or any(c in key for c in '."[]$*'):
            continue
        path = f'$."{key}"'
        if _scalar(expected):
            clauses.append(f"json_extract({column}, ?) = json_extract(?, '$')")
            params += [path, json.dumps(expected)]
        elif isinstance(expected, Mapping) and expected and all(k in _SQL_OPS for k in expected):
            for op, operand in expected.items():
                if op == "$eq" and _scalar(operand):
                    clauses.append(f"json_extract({column}, ?) = json_extract(?, '$')")
                    params += [path, json.dumps(operand)]
                elif op != "$eq" and isinstance(operand, int | float) and not isinstance(operand, bool):
                    clauses.append(
                        f"json_type({column}, ?) IN ('integer', 'real') AND json_extract({column}, ?) "
                        f"{_SQL_OPS[op]} ?"
                    )
                    params += [path, path, operand]
    return clauses, params
