"""Guaranteed-schema decoding: compile a JSON Schema into a bounded grammar, refuse what cannot be enforced,
and decode under it -- with llguidance, xgrammar or outlines_core masks (`engines/`), all enforcing the same
language -- so that every output validates whenever `max_tokens` >= the reported minimum.

    from agentflow.decoding import check_schema, compile_schema, GuidedDecoder, check_output

Names load lazily (the validator pulls in jsonschema, the driver torch), so importing a light submodule such as
`agentflow.decoding.quotes` costs only that module.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentflow.decoding.compile import CompiledSchema, Limits, compile_schema
    from agentflow.decoding.driver import GuidedDecoder, Sample
    from agentflow.decoding.engines import AUTO, ENGINES
    from agentflow.decoding.support import ENGINE, SupportReport, check_schema, compile_cached
    from agentflow.decoding.validate import Validity, check_output, missing_format_checkers
    from agentflow.exceptions import (
        DecodingInvariantError,
        EngineUnsupportedError,
        MaxTokensTooSmallError,
        UnsupportedSchemaError,
        UnsupportedTokenizerError,
    )

__all__ = [
    "AUTO",
    "ENGINE",
    "ENGINES",
    "CompiledSchema",
    "DecodingInvariantError",
    "EngineUnsupportedError",
    "GuidedDecoder",
    "Limits",
    "MaxTokensTooSmallError",
    "Sample",
    "SupportReport",
    "UnsupportedSchemaError",
    "UnsupportedTokenizerError",
    "Validity",
    "check_output",
    "check_schema",
    "compile_cached",
    "compile_schema",
    "missing_format_checkers",
]

_WHERE = {
    "CompiledSchema": "agentflow.decoding.compile",
    "Limits": "agentflow.decoding.compile",
    "compile_schema": "agentflow.decoding.compile",
    "GuidedDecoder": "agentflow.decoding.driver",
    "Sample": "agentflow.decoding.driver",
    "AUTO": "agentflow.decoding.engines",
    "ENGINES": "agentflow.decoding.engines",
    "ENGINE": "agentflow.decoding.support",
    "SupportReport": "agentflow.decoding.support",
    "check_schema": "agentflow.decoding.support",
    "compile_cached": "agentflow.decoding.support",
    "Validity": "agentflow.decoding.validate",
    "check_output": "agentflow.decoding.validate",
    "missing_format_checkers": "agentflow.decoding.validate",
    "DecodingInvariantError": "agentflow.exceptions",
    "EngineUnsupportedError": "agentflow.exceptions",
    "MaxTokensTooSmallError": "agentflow.exceptions",
    "UnsupportedSchemaError": "agentflow.exceptions",
    "UnsupportedTokenizerError": "agentflow.exceptions",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'agentflow.decoding' has no attribute {name!r}")
    return getattr(import_module(where), name)
