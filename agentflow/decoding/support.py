"""Public entry points: `check_schema` (the `schema check` report) and a cached `compile_cached`.

    report = check_schema(schema, engines=True)
    report.supported, report.keyword, report.pointer, report.min_max_tokens, report.caps, report.engines
    compiled = compile_cached(schema)          # same CompiledSchema for equal (schema, limits)
    compiled = compile_decision(tools)         # the decision envelope over `tools`, cached
    check_decision_engine(compiled, tools, None, "xgrammar")   # refuses naming the tool, keyword, pointer

What is cached, and under which key: the compiled grammar under (canonical schema, limits) -- it does not
depend on the tokenizer or engine; each engine's translation of it under the grammar text
(`decoding.engines`); the tokenizer-bound compiled engine grammar under the grammar text, per engine
instance, i.e. per tokenizer; and `auto`'s choice under (grammar text, tokenizer fingerprint, engine set).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from threading import Lock
from typing import Any

from agentflow.decoding.compile import CompiledSchema, Limits, compile_schema
from agentflow.decoding.errors import EngineUnsupportedError, UnsupportedSchemaError

__all__ = ["ENGINE", "SupportReport", "check_decision_engine", "check_schema", "compile_cached", "compile_decision"]

#: The syntax the compiled grammars are written in (llguidance's Lark, with regex intersection/negation); the
#: other mask engines get translations (`decoding.engines`).
ENGINE = "llguidance"


@dataclass(frozen=True, slots=True)
class SupportReport:
    """Whether a schema can be decoded with the guarantee, and at what minimum `max_tokens`."""

    supported: bool
    keyword: str | None = None
    pointer: str | None = None
    reason: str | None = None
    min_max_tokens: int | None = None
    max_bytes: int | None = None
    draft: str | None = None
    engine: str = ENGINE
    caps: list[str] = field(default_factory=list)
    #: per mask engine: None if it enforces the schema exactly, else why not (filled when asked for)
    engines: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_schema(schema: Any, limits: Limits | None = None, *, engines: bool = False) -> SupportReport:
    """Compile `schema` and report support, the minimum `max_tokens` and the caps applied (never raises for an
    unsupported schema; the report names the keyword and JSON Pointer). With `engines`, also which mask
    engines enforce it exactly (tokenizer-free translation, tens of milliseconds)."""
    try:
        compiled = compile_cached(schema, limits)
    except UnsupportedSchemaError as exc:
        return SupportReport(False, exc.keyword, exc.pointer, exc.reason)
    per_engine: dict[str, str | None] = {}
    if engines:
        from agentflow.decoding.engines import supported_engines

        per_engine = {name: None if err is None else f"keyword {err.keyword!r} at {err.pointer or '/'}: {err.reason}"
                      for name, err in supported_engines(compiled).items()}
    return SupportReport(True, min_max_tokens=compiled.min_max_tokens, max_bytes=compiled.max_bytes,
                         draft=compiled.draft, caps=list(compiled.caps), engines=per_engine)


_CACHE: OrderedDict[str, CompiledSchema | UnsupportedSchemaError] = OrderedDict()
_LOCK = Lock()
_CACHE_SIZE = 512


def compile_cached(schema: Any, limits: Limits | None = None) -> CompiledSchema:
    """`compile_schema` memoised on (canonical schema JSON, limits, engine); re-raises cached refusals."""
    limits = limits or Limits()
    key = json.dumps([schema, limits.key(), ENGINE], sort_keys=True)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
    if hit is None:
        try:
            hit = compile_schema(schema, limits)
        except UnsupportedSchemaError as exc:
            hit = exc
        with _LOCK:
            _CACHE[key] = hit
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    if isinstance(hit, UnsupportedSchemaError):
        raise UnsupportedSchemaError(hit.keyword, hit.pointer, hit.reason)
    return hit


def compile_decision(
    tools: Sequence[Any], final_schema: dict[str, Any] | None = None, limits: Limits | None = None, **kwargs: Any,
) -> CompiledSchema:
    """Compile the decision envelope (`agentflow.models.decision_schema.decision_schema`) over `tools`.

    Each tool's schema (and the final-answer schema) is checked on its own first: the envelope is an
    `anyOf`, and a tool whose schema cannot be enforced must be refused by name, not silently left out.
    """
    from agentflow.models.decision_schema import decision_schema

    parts = [(f"tool '{t.name}'", t.parameters) for t in tools]
    if final_schema is not None:
        parts.append(("the final-answer schema", final_schema))
    for where, schema in parts:
        try:
            compile_cached(schema, limits)
        except UnsupportedSchemaError as exc:
            raise UnsupportedSchemaError(exc.keyword, exc.pointer, f"{where}: {exc.reason}") from None
    return compile_cached(decision_schema(tools, final_schema, **kwargs), limits)


def check_decision_engine(compiled: CompiledSchema, tools: Sequence[Any], final_schema: dict[str, Any] | None,
                          engine: str, limits: Limits | None = None) -> None:
    """Raise `EngineUnsupportedError` unless mask engine `engine` enforces the compiled decision exactly. When a
    tool's own schema is what the engine cannot express, the error names that tool and the pointer inside it."""
    from agentflow.decoding.engines import engine_support

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
                    raise EngineUnsupportedError(engine, own.keyword, own.pointer, f"{where}: {own.reason}") from None
        raise EngineUnsupportedError(engine, exc.keyword, exc.pointer, f"the decision envelope: {exc.reason}") from None
