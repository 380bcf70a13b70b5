"""Guaranteed-schema decoding: compile a JSON Schema into a bounded grammar, refuse what cannot be enforced,
and decode under it -- with llguidance, xgrammar or outlines_core masks (`engines/`), all enforcing the same
language -- so that every output validates whenever `max_tokens` >= the reported minimum.

    from agentflow.decoding import check_schema, compile_schema, GuidedDecoder, check_output
"""

from agentflow.decoding.compile import CompiledSchema, Limits, compile_schema
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


def __getattr__(name: str):  # the driver imports torch / llguidance: load it lazily
    if name in ("GuidedDecoder", "Sample"):
        from agentflow.decoding import driver

        return getattr(driver, name)
    raise AttributeError(name)
