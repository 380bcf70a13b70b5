"""llguidance: the compiled Lark grammar as is (lexeme intersections and negations are native)."""

from __future__ import annotations

from typing import Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.engines.base import MaskEngine, Matcher
from agentflow.exceptions import DecodingInvariantError

__all__ = ["LLGuidanceEngine", "parser_limits"]


def parser_limits() -> Any:
    """llguidance limits raised above its defaults: long bounded strings (minLength in the hundreds) inside
    an envelope exceed the default lexer fuel ("too many expressions constructed")."""
    import llguidance

    return llguidance.LLParserLimits(
        initial_lexer_fuel=100_000_000, step_lexer_fuel=20_000_000, max_lexer_states=2_000_000
    )


class _LLMatcher(Matcher):
    __slots__ = ("m",)

    def __init__(self, m: Any) -> None:
        self.m = m

    def fill(self, buf: Any) -> None:
        self.m.unsafe_compute_mask_ptr(buf.data_ptr(), buf.numel() * 4)
        if self.m.is_error():
            raise DecodingInvariantError(f"llguidance: mask computation failed: {self.m.get_error()[:500]}")

    def consume(self, token: int) -> None:
        if not self.m.consume_token(token) or self.m.is_error():
            raise DecodingInvariantError(f"llguidance: token {token} rejected: {self.m.get_error()[:300]}")

    def accepting(self) -> bool:
        return bool(self.m.is_accepting())


class LLGuidanceEngine(MaskEngine):
    name = "llguidance"

    @classmethod
    def translate(cls, compiled: CompiledSchema) -> str:
        return compiled.lark

    def _compile(self, form: str) -> Any:
        import llguidance

        base = llguidance.LLMatcher(self.view.ll_tokenizer, form, log_level=0, limits=parser_limits())
        if base.is_error():
            raise self.invariant(f"grammar rejected: {base.get_error()[:500]}")
        return base

    def _matcher(self, prepared: Any) -> Matcher:
        return _LLMatcher(prepared.deep_copy())

    def accepts(self, compiled: CompiledSchema, tokens: list[int]) -> bool:
        """Does the compiled grammar accept exactly this token sequence (eos excluded)? The cross-check every
        other engine's output goes through."""
        m = self.prepare(compiled).deep_copy()
        return all(m.consume_token(t) for t in tokens) and not m.is_error() and bool(m.is_accepting())
