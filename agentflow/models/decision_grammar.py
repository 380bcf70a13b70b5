"""The decision envelope compiled for guaranteed decoding: every backend that decodes under agentflow's grammar
(transformers, vLLM offline, a vLLM server) compiles its decisions here.

    compiled = compile_decision(tools)                          # the envelope over `tools`, cached
    check_decision_engine(compiled, tools, None, "xgrammar")    # refuses naming the tool, keyword, pointer

Each tool's schema (and the final-answer schema) is checked on its own first: the envelope is an `anyOf`, and a
tool whose schema cannot be enforced must be refused by name, not silently left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentflow.decoding import CompiledSchema, Limits, compile_cached
from agentflow.decoding.engines import engine_support
from agentflow.exceptions import EngineUnsupportedError, UnsupportedSchemaError
from agentflow.models.decision_schema import decision_schema

__all__ = ["check_decision_engine", "compile_decision"]


def compile_decision(
    tools: Sequence[Any],
    final_schema: dict[str, Any] | None = None,
    limits: Limits | None = None,
    **kwargs: Any,
) -> CompiledSchema:
    """Compile the decision envelope (`agentflow.models.decision_schema.decision_schema`) over `tools`.

    Each tool's schema (and the final-answer schema) is checked on its own first: the envelope is an
    `anyOf`, and a tool whose schema cannot be enforced must be refused by name, not silently left out.
    """
    parts = [(f"tool '{t.name}'", t.parameters) for t in tools]
    if final_schema is not None:
        parts.append(("the final-answer schema", final_schema))
    for where, schema in parts:
        try:
            compile_cached(schema, limits)
        except UnsupportedSchemaError as exc:
            raise UnsupportedSchemaError(exc.keyword, exc.pointer, f"{where}: {exc.reason}") from None
    return compile_cached(decision_schema(tools, final_schema, **kwargs), limits)


def check_decision_engine(
    compiled: CompiledSchema,
    tools: Sequence[Any],
    final_schema: dict[str, Any] | None,
    engine: str,
    limits: Limits | None = None,
) -> None:
    """Raise `EngineUnsupportedError` unless mask engine `engine` enforces the compiled decision exactly. When a
    tool's own schema is what the engine cannot express, the error names that tool and the pointer inside it."""
    try:
        engine_support(compiled, engine)
    except EngineUnsupportedError as exc:
        parts = [(f"tool '{t.name}'", t.parameters) for t in tools]
        if final_schema is not None:
            parts.append(("the final-answer schema", final_schema))
        for where, schema in parts:
            try:
                engine_support(compile_cached(schema, limits), engine)
            except EngineUnsupportedError as own:
                if own.keyword == exc.keyword:
                    raise type(own)(engine, own.keyword, own.pointer, f"{where}: {own.reason}") from None
        raise type(exc)(engine, exc.keyword, exc.pointer, f"the decision envelope: {exc.reason}") from None
