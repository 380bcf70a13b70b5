"""Public entry points: `check_schema` (the `schema check` report) and a cached `compile_cached`.

    report = check_schema(schema, engines=True)
    report.supported, report.keyword, report.pointer, report.min_max_tokens, report.caps, report.engines
    compiled = compile_cached(schema)          # same CompiledSchema for equal (schema, limits)

What is cached, and under which key: the compiled grammar under (canonical schema, limits) -- it does not
depend on the tokenizer or engine; each engine's translation of it under the grammar text
(`decoding.engines`); the tokenizer-bound compiled engine grammar under the grammar text, per engine
instance, i.e. per tokenizer; and `auto`'s choice under (grammar text, tokenizer fingerprint, engine set).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from threading import Lock
from typing import Any

from agentflow.decoding.compile import CompiledSchema, Limits, compile_schema
from agentflow.exceptions import UnsupportedSchemaError

__all__ = ["ENGINE", "SupportReport", "check_schema", "clear_compile_cache", "compile_cached"]

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

        per_engine = {
            name: None if err is None else f"keyword {err.keyword!r} at {err.pointer or '/'}: {err.reason}"
            for name, err in supported_engines(compiled).items()
        }
    return SupportReport(
        True,
        min_max_tokens=compiled.min_max_tokens,
        max_bytes=compiled.max_bytes,
        draft=compiled.draft,
        caps=list(compiled.caps),
        engines=per_engine,
    )


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


def clear_compile_cache() -> None:
    """Forget every compiled schema (benchmarks measure cold compiles with it)."""
    with _LOCK:
        _CACHE.clear()
