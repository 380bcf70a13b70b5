"""Model-free random walks through a compiled grammar, for testing the guarantee cheaply.

`random_walk` picks a grammar-legal token at random each step (no model forward pass), either uniformly
(``mode="uniform"``) or adversarially: preferring tokens that keep the output open (no quotes or closing
brackets, no eos) and are short, which drives outputs towards the length bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.driver import parser_limits
from agentflow.exceptions import DecodingInvariantError

__all__ = ["Walk", "random_walk"]

_CLOSERS = set(b'"]}')


@dataclass(frozen=True, slots=True)
class Walk:
    text: str
    n_tokens: int  # eos included


def random_walk(
    ll_tokenizer: Any,
    compiled: CompiledSchema,
    rng: random.Random,
    *,
    mode: str = "uniform",
    matcher: Any = None,
) -> Walk:
    """One walk of at most `compiled.min_max_tokens` tokens; raises `DecodingInvariantError` if it does not end
    accepted within that bound."""
    import llguidance

    m = (
        matcher.deep_copy()
        if matcher is not None
        else llguidance.LLMatcher(ll_tokenizer, compiled.lark, log_level=0, limits=parser_limits())
    )
    if m.is_error():
        raise DecodingInvariantError(m.get_error()[:500])
    eos = ll_tokenizer.eos_token
    out: list[int] = []
    for _ in range(compiled.min_max_tokens):
        mask = m.compute_bitmask()
        if m.is_error():
            raise DecodingInvariantError(m.get_error()[:500])
        allowed = [i for i in range(ll_tokenizer.vocab_size) if mask[i >> 3] >> (i & 7) & 1]
        if not allowed:
            raise DecodingInvariantError("no token allowed")
        if mode == "adversarial":
            open_ = [t for t in allowed if t != eos and not set(ll_tokenizer.decode_bytes([t])) & _CLOSERS]
            pool = open_ or allowed
            shortest = (
                min(len(ll_tokenizer.decode_bytes([t])) for t in pool if t != eos)
                if any(t != eos for t in pool)
                else 0
            )
            pool = [t for t in pool if t == eos or len(ll_tokenizer.decode_bytes([t])) == shortest] or pool
            tok = rng.choice(pool)
        else:
            tok = rng.choice(allowed)
        if not m.consume_token(tok):
            raise DecodingInvariantError(f"token {tok} rejected: {m.get_error()[:300]}")
        if tok == eos:
            return Walk(ll_tokenizer.decode_bytes(out).decode("utf-8"), len(out) + 1)
        out.append(tok)
        if m.is_stopped():
            return Walk(ll_tokenizer.decode_bytes(out).decode("utf-8"), len(out))
    if not m.is_accepting():
        raise DecodingInvariantError(f"walk not complete within {compiled.min_max_tokens} tokens")
    return Walk(ll_tokenizer.decode_bytes(out).decode("utf-8"), len(out))
