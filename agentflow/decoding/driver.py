"""Decode from a Hugging Face causal LM under a compiled schema with llguidance, in our own sampling loop.

Owning the loop is what makes the guarantee checkable: we refuse `max_tokens` below the bound before
decoding, mask every step (so only grammar-legal tokens can be sampled, eos only when the output is complete),
stop as soon as the grammar cannot continue, and raise instead of returning anything the grammar did not
accept. Per-step mask time is measured.

    decoder = GuidedDecoder(model, tokenizer)
    sample = decoder.sample(compile_schema(schema), max_tokens=512, temperature=1.0, seed=0)
    sample.text, sample.n_tokens, sample.mask_us_per_token
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.errors import (
    DecodingInvariantError,
    MaxTokensTooSmallError,
    UnsupportedTokenizerError,
)

__all__ = ["DecodingCancelled", "GuidedDecoder", "Sample", "check_tokenizer", "parser_limits"]


class DecodingCancelled(Exception):
    """The caller asked the loop to stop (its `decide` was cancelled); nothing is returned."""


@dataclass(frozen=True, slots=True)
class Sample:
    text: str
    token_ids: list[int]
    n_tokens: int  # tokens generated, eos included when it was sampled
    mask_seconds: float  # time spent computing masks and advancing the matcher
    total_seconds: float

    @property
    def mask_us_per_token(self) -> float:
        return 1e6 * self.mask_seconds / max(1, self.n_tokens)


def parser_limits() -> Any:
    """llguidance limits raised above its defaults: long bounded strings (minLength in the hundreds) inside
    an envelope exceed the default lexer fuel ("too many expressions constructed")."""
    import llguidance

    return llguidance.LLParserLimits(initial_lexer_fuel=100_000_000, step_lexer_fuel=20_000_000,
                                     max_lexer_states=2_000_000)


def check_tokenizer(ll_tokenizer: Any) -> None:
    """Refuse tokenizers the bound does not hold for: every non-special token must be >= 1 byte, there must be
    an eos token, and every printable ASCII byte must be a token on its own (so no literal is unreachable)."""
    if ll_tokenizer.eos_token is None or ll_tokenizer.eos_token < 0:
        raise UnsupportedTokenizerError("the tokenizer has no eos token")
    singles: set[int] = set()
    for tok in range(ll_tokenizer.vocab_size):
        if ll_tokenizer.is_special_token(tok):
            continue
        data = ll_tokenizer.decode_bytes([tok])
        if not data:
            raise UnsupportedTokenizerError(f"token {tok} decodes to no bytes; the length bound would not hold")
        if len(data) == 1:
            singles.add(data[0])
    missing = [b for b in range(0x20, 0x7F) if b not in singles]
    if missing:
        raise UnsupportedTokenizerError(f"no single-byte token for {bytes(missing[:10])!r}...")


class GuidedDecoder:
    """Constrained sampling with llguidance masks over a transformers causal LM (CPU or GPU)."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        import llguidance
        import llguidance.hf
        import torch

        self.model = model
        self.tokenizer = tokenizer
        self.ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)
        check_tokenizer(self.ll_tokenizer)
        self.vocab = self.ll_tokenizer.vocab_size
        self.eos = self.ll_tokenizer.eos_token
        self._words = (self.vocab + 31) // 32
        self._shifts = torch.arange(32, dtype=torch.int32)
        self._matchers: dict[str, Any] = {}
        self._cache_kwarg = _cache_kwarg(model)

    def matcher(self, compiled: CompiledSchema) -> Any:
        """A fresh llguidance matcher for `compiled` (grammar construction cached per grammar text)."""
        import llguidance

        base = self._matchers.get(compiled.lark)
        if base is None:
            base = llguidance.LLMatcher(self.ll_tokenizer, compiled.lark, log_level=0, limits=parser_limits())
            if base.is_error():
                raise DecodingInvariantError(f"llguidance rejected the grammar: {base.get_error()[:500]}")
            self._matchers[compiled.lark] = base
        return base.deep_copy()

    def allowed(self, matcher: Any, buf: Any) -> Any:
        """Boolean tensor [vocab] of tokens the grammar allows next (fills `buf`, an int32 [1, words])."""
        import numpy as np
        import torch

        matcher.unsafe_compute_mask_ptr(buf.data_ptr(), buf.numel() * 4)
        if matcher.is_error():
            raise DecodingInvariantError(f"mask computation failed: {matcher.get_error()[:500]}")
        bits = np.unpackbits(buf.numpy().view(np.uint8), bitorder="little")[: self.vocab]
        return torch.from_numpy(bits.view(np.bool_))

    def sample(
        self, compiled: CompiledSchema, *, max_tokens: int, temperature: float = 1.0, seed: int | None = None,
        prompt_ids: list[int] | None = None, should_stop: Any = None,
    ) -> Sample:
        """One constrained sample; raises `MaxTokensTooSmallError` before decoding if `max_tokens` is too small."""
        import torch

        if max_tokens < compiled.min_max_tokens:
            raise MaxTokensTooSmallError(max_tokens, compiled.min_max_tokens)
        started = time.perf_counter()
        matcher = self.matcher(compiled)
        gen = torch.Generator().manual_seed(seed if seed is not None else random.getrandbits(63))
        buf = torch.full((1, self._words), -1, dtype=torch.int32)
        input_ids = torch.tensor([prompt_ids or [self.eos]])
        cache = _new_cache(self.model)
        out: list[int] = []
        mask_s = 0.0
        n_tokens = 0
        finished = False
        with torch.inference_mode():
            for _ in range(max_tokens):
                if should_stop is not None and should_stop():
                    raise DecodingCancelled("decoding was cancelled")
                result = self.model(input_ids=input_ids, use_cache=True, **{self._cache_kwarg: cache})
                logits = result.logits[0, -1].float()
                t0 = time.perf_counter()
                allowed = self.allowed(matcher, buf).to(logits.device)
                mask_s += time.perf_counter() - t0
                n = min(self.vocab, logits.shape[0])
                masked = logits  # in place: ids the grammar forbids, and ids beyond the tokenizer, get -inf
                masked[:n].masked_fill_(~allowed[:n], float("-inf"))
                masked[n:] = float("-inf")
                if temperature <= 0:
                    tok = int(torch.argmax(masked))
                else:
                    probs = torch.softmax(masked / temperature, dim=-1)
                    tok = int(torch.multinomial(probs, 1, generator=gen))
                t0 = time.perf_counter()
                ok = matcher.consume_token(tok)
                mask_s += time.perf_counter() - t0
                n_tokens += 1
                if not ok or matcher.is_error():
                    raise DecodingInvariantError(f"sampled token {tok} was rejected: {matcher.get_error()[:300]}")
                if tok == self.eos:
                    finished = True
                    break
                out.append(tok)
                if matcher.is_stopped():
                    finished = True
                    break
                input_ids = torch.tensor([[tok]])
        if not finished and not matcher.is_accepting():
            raise DecodingInvariantError(f"output incomplete after {max_tokens} tokens (bound violated)")
        data = self.ll_tokenizer.decode_bytes(out)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodingInvariantError(f"output is not UTF-8: {exc}") from None
        return Sample(text, out, n_tokens, mask_s, time.perf_counter() - started)


def _cache_kwarg(model: Any) -> str:
    """The name of the KV-cache argument of `model.forward`: transformers 5.24 renamed `past_key_values` to
    `cache` (the old name warns); both versions fill a `DynamicCache` passed in, in place."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def _new_cache(model: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers: no config argument
        return DynamicCache()
