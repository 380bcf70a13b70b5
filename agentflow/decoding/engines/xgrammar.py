"""xgrammar: the compiled grammar as EBNF (`ebnf.py`), lexemes as the right-linear rules of their DFAs, over a
raw-bytes `TokenizerInfo` built from `TokenizerView` (so xgrammar's own vocabulary detection plays no part)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.engines.automata import AutomatonError
from agentflow.decoding.engines.base import MaskEngine, Matcher
from agentflow.decoding.engines.ebnf import to_ebnf
from agentflow.exceptions import DecodingInvariantError, EngineLimitError, EngineUnsupportedError

__all__ = ["XGrammarEngine"]

MAX_EBNF_CHARS = 2_000_000


@lru_cache(maxsize=512)
def _translate(lark: str, compiled: CompiledSchema) -> str:
    try:
        text = to_ebnf(compiled.ir)
    except AutomatonError as exc:
        lexeme = exc.lexeme
        raise EngineUnsupportedError(
            "xgrammar", lexeme.keyword if lexeme else "schema", lexeme.pointer if lexeme else "", str(exc)
        ) from None
    if len(text) > MAX_EBNF_CHARS:
        raise EngineLimitError("xgrammar", "schema", "", f"EBNF over {MAX_EBNF_CHARS} characters")
    import xgrammar as xgr

    try:
        xgr.Grammar.from_ebnf(text)
    except Exception as exc:  # a translation bug, not a property of the schema
        raise DecodingInvariantError(f"xgrammar rejected the translated grammar: {str(exc)[:300]}") from None
    return text


class _XMatcher(Matcher):
    __slots__ = ("m",)

    def __init__(self, m: Any) -> None:
        self.m = m

    def fill(self, buf: Any) -> None:
        self.m.fill_next_token_bitmask(buf, 0)

    def consume(self, token: int) -> None:
        if not self.m.accept_token(token):
            raise DecodingInvariantError(f"xgrammar: token {token} rejected")

    def accepting(self) -> bool:
        return bool(self.m.is_completed())


class XGrammarEngine(MaskEngine):
    name = "xgrammar"

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        import xgrammar as xgr

        info = xgr.TokenizerInfo(
            list(view.token_bytes),
            xgr.VocabType.RAW,
            vocab_size=view.vocab_size,
            stop_token_ids=[view.eos],
            add_prefix_space=False,
        )
        self._compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)

    @classmethod
    def translate(cls, compiled: CompiledSchema) -> str:
        if compiled.grammar is None:
            raise EngineUnsupportedError("xgrammar", "schema", "", "no structured grammar")
        return _translate(compiled.lark, compiled)

    def _compile(self, form: str) -> Any:
        import xgrammar as xgr

        return self._compiler.compile_grammar(xgr.Grammar.from_ebnf(form))

    def _matcher(self, prepared: Any) -> Matcher:
        import xgrammar as xgr

        return _XMatcher(xgr.GrammarMatcher(prepared))
