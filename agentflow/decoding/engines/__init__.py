"""Mask engines: llguidance, xgrammar and outlines_core, each enforcing exactly the language of the compiled
grammar (`CompiledSchema.grammar`), or refusing a schema with `EngineUnsupportedError` (keyword, pointer, why).

    engine_support(compiled, "xgrammar")        # raises EngineUnsupportedError, tokenizer-free and cached
    supported_engines(compiled)                 # {"llguidance": None, "outlines_core": <error>, ...}
    make_engine("xgrammar", TokenizerView.from_hf(tokenizer)).matcher(compiled)

`auto` (the default of `GuidedDecoder` and `TransformersModel`) picks, per compiled schema and tokenizer, the
supported engine that measures cheapest (`select.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.exceptions import EngineUnsupportedError

if TYPE_CHECKING:
    from agentflow.decoding.engines.base import MaskEngine

__all__ = ["AUTO", "ENGINES", "engine_class", "engine_support", "make_engine", "supported_engines"]

ENGINES = ("llguidance", "xgrammar", "outlines_core")
AUTO = "auto"


def engine_class(name: str) -> type[MaskEngine]:
    if name == "llguidance":
        from agentflow.decoding.engines.llguidance import LLGuidanceEngine

        return LLGuidanceEngine
    if name == "xgrammar":
        from agentflow.decoding.engines.xgrammar import XGrammarEngine

        return XGrammarEngine
    if name == "outlines_core":
        from agentflow.decoding.engines.outlines_core import OutlinesCoreEngine

        return OutlinesCoreEngine
    raise ValueError(f"unknown mask engine {name!r}; choose one of: {', '.join((AUTO, *ENGINES))}")


def make_engine(name: str, view: Any) -> MaskEngine:
    return engine_class(name)(view)


def engine_support(compiled: CompiledSchema, name: str) -> None:
    """Raise `EngineUnsupportedError` unless engine `name` can enforce `compiled` exactly."""
    engine_class(name).translate(compiled)


def supported_engines(
    compiled: CompiledSchema, names: tuple[str, ...] = ENGINES
) -> dict[str, EngineUnsupportedError | None]:
    """Per engine: None when it supports `compiled`, else its refusal."""
    out: dict[str, EngineUnsupportedError | None] = {}
    for name in names:
        try:
            engine_support(compiled, name)
            out[name] = None
        except EngineUnsupportedError as exc:
            out[name] = exc
    return out
