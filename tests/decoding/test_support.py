"""Support checking: coverage of the dev schemas, refusals naming keyword + JSON Pointer, caps, caching."""

from __future__ import annotations

from typing import Any

import pytest

from agentflow.decoding import (
    UnsupportedSchemaError,
    check_schema,
    compile_cached,
    compile_schema,
    missing_format_checkers,
)
from agentflow.exceptions import UserError
from agentflow.models.base import ToolSpec
from agentflow.models.decision_grammar import compile_decision

from decoding_cases import SUPPORTED, UNSUPPORTED


def test_format_checkers_installed() -> None:
    """The validity oracle must really check every format we emit (needs the jsonschema format extras)."""
    assert missing_format_checkers() == []


def test_dev_coverage_at_least_95_percent(dev_schemas: dict[str, Any]) -> None:
    reports = {name: check_schema(schema) for name, schema in dev_schemas.items()}
    supported = [n for n, r in reports.items() if r.supported]
    coverage = len(supported) / len(reports)
    refused = {n: (r.keyword, r.pointer) for n, r in reports.items() if not r.supported}
    assert coverage >= 0.95, refused
    for name, report in reports.items():
        if report.supported:
            assert report.min_max_tokens is not None and report.min_max_tokens == report.max_bytes + 1
        else:
            assert report.keyword and report.pointer is not None and report.reason, name


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_handwritten_supported(name: str) -> None:
    assert check_schema(SUPPORTED[name]).supported, check_schema(SUPPORTED[name])


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_named(name: str) -> None:
    schema, keyword, pointer = UNSUPPORTED[name]
    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema(schema)
    assert (info.value.keyword, info.value.pointer) == (keyword, pointer), info.value
    assert isinstance(info.value, UserError)
    report = check_schema(schema)
    assert not report.supported and (report.keyword, report.pointer) == (keyword, pointer)


def test_caps_reported() -> None:
    report = check_schema(
        {
            "type": "object",
            "properties": {
                "s": {"type": "string"},
                "n": {"type": "integer"},
                "a": {"type": "array", "items": {"type": "boolean"}},
            },
        }
    )
    assert report.supported
    text = "\n".join(report.caps)
    assert "/properties/s: strings capped at 64" in text
    assert "/properties/a: arrays capped at 4" in text
    assert "/properties/n: numbers limited" in text


def test_max_length_keywords_shrink_the_bound() -> None:
    small = check_schema({"type": "string", "maxLength": 5})
    big = check_schema({"type": "string"})
    assert small.max_bytes == 7 and big.max_bytes == 66


def test_compile_cache_and_decision() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    assert compile_cached(schema) is compile_cached(dict(schema))
    tools = [
        ToolSpec(
            name="calc",
            description="",
            parameters={
                "type": "object",
                "properties": {"expression": {"type": "string", "maxLength": 20}},
                "required": ["expression"],
                "additionalProperties": False,
            },
        )
    ]
    first = compile_decision(tools)
    assert compile_decision(tools) is first
    assert first.min_max_tokens < 2000
    with pytest.raises(UnsupportedSchemaError):
        compile_cached({"type": "string", "format": "topic"})
    with pytest.raises(UnsupportedSchemaError):  # refusals are cached too, and re-raised each time
        compile_cached({"type": "string", "format": "topic"})
