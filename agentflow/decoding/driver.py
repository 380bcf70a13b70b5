"""Decode from a Hugging Face causal LM under a compiled schema, in our own sampling loop, with any mask engine.

Owning the loop is what makes the guarantee checkable: we refuse `max_tokens` below the bound before
decoding, mask every step (so only grammar-legal tokens can be sampled, eos only when the output is complete),
stop as soon as the grammar allows nothing but eos, and raise instead of returning anything the grammar did
not accept: outputs of xgrammar and outlines_core are re-checked against the llguidance grammar too. The
engines (`decoding.engines`) enforce the same language: xgrammar and outlines_core give identical masks (so,
for a seed, the same text), llguidance a subset where the grammar forces bytes (it offers only their
canonical tokenization). `engine="auto"` picks the cheapest by measurement. Per-step mask time is measured.

    decoder = GuidedDecoder(model, tokenizer)                    # engine="auto"
    sample = decoder.sample(compile_schema(schema), max_tokens=512, temperature=1.0, seed=0)
    sample.text, sample.n_tokens, sample.mask_us_per_token, sample.engine
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.engines import AUTO, ENGINES, engine_class, engine_support, supported_engines
from agentflow.decoding.engines.llguidance import parser_limits
from agentflow.exceptions import (
    DecodingInvariantError,
    EngineUnsupportedError,
    MaxTokensTooSmallError,
    UnsupportedTokenizerError,
)

__all__ = [
    "DecodingCancelled",
    "GuidedDecoder",
    "Sample",
    "cache_kwarg",
    "check_tokenizer",
    "new_cache",
    "parser_limits",
]


class DecodingCancelled(Exception):
    """The caller asked the loop to stop (its `decide` was cancelled); nothing is returned."""


@dataclass(frozen=True, slots=True)
class Sample:
    text: str
    token_ids: list[int]
    n_tokens: int  # tokens generated, eos included when it was sampled
    mask_seconds: float  # time spent computing masks and advancing the matcher
    total_seconds: float
    engine: str = "llguidance"  # the mask engine that decoded it

    @property
    def mask_us_per_token(self) -> float:
        return 1e6 * self.mask_seconds / max(1, self.n_tokens)


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
            raise UnsupportedTokenizerError(
                f"token {tok} decodes to no bytes; the length bound would not hold"
            )
        if len(data) == 1:
            singles.add(data[0])
    missing = [b for b in range(0x20, 0x7F) if b not in singles]
    if missing:
        raise UnsupportedTokenizerError(f"no single-byte token for {bytes(missing[:10])!r}...")


class GuidedDecoder:
    """Constrained sampling over a transformers causal LM (CPU or GPU) with a choice of mask engine.

    `engine` is the default for `sample`: one of `decoding.engines.ENGINES`, or "auto" (per grammar, the
    cheapest supported engine by measurement; see `decoding.engines.select`).
    """

    def __init__(self, model: Any, tokenizer: Any, engine: str = AUTO) -> None:
        from agentflow.decoding.engines.base import TokenizerView
        from agentflow.decoding.engines.select import EngineSelector

        if engine != AUTO:
            engine_class(engine)  # unknown names fail here
        self.model = model
        self.tokenizer = tokenizer
        self.engine = engine
        self.view = TokenizerView.from_hf(tokenizer)
        self.ll_tokenizer = self.view.ll_tokenizer
        check_tokenizer(self.ll_tokenizer)
        self.vocab = self.view.vocab_size
        self.eos = self.view.eos
        self._words = self.view.words
        self._engines: dict[str, Any] = {}
        self._selector = EngineSelector(self.engine_impl, self.view.fingerprint, self.eos, self.vocab)
        self._cache_kwarg = cache_kwarg(model)

    def engine_impl(self, name: str) -> Any:
        """The `MaskEngine` `name` bound to this tokenizer (created on first use)."""
        eng = self._engines.get(name)
        if eng is None:
            eng = self._engines[name] = engine_class(name)(self.view)
        return eng

    def support(self, compiled: CompiledSchema) -> dict[str, EngineUnsupportedError | None]:
        """Per engine: None if it enforces `compiled` on this tokenizer (translated and built), else why not."""
        out = supported_engines(compiled)
        for name, err in out.items():
            if err is None:
                try:
                    self.engine_impl(name).prepare(compiled)
                except EngineUnsupportedError as exc:
                    out[name] = exc
        return out

    def resolve(self, compiled: CompiledSchema, engine: str | None = None) -> str:
        """The engine that will decode `compiled`, its grammar built for this tokenizer (cached): the one asked
        for (raising `EngineUnsupportedError` when it cannot enforce the grammar), or for "auto" the measured
        choice (cached)."""
        name = engine or self.engine
        if name == AUTO:
            return self._selector.choose(compiled, ENGINES).engine
        engine_support(compiled, name)
        self.engine_impl(name).prepare(compiled)
        return name

    def choice(self, compiled: CompiledSchema) -> Any:
        """What "auto" chose for `compiled` and what it measured (`select.Choice`)."""
        return self._selector.choose(compiled, ENGINES)

    def matcher(self, compiled: CompiledSchema, engine: str = "llguidance") -> Any:
        return self.engine_impl(engine).matcher(compiled)

    def allowed(self, matcher: Any, buf: Any) -> Any:
        """Boolean tensor [vocab] of tokens the grammar allows next (fills `buf`, an int32 [1, words])."""
        import numpy as np
        import torch

        matcher.fill(buf)
        bits = np.unpackbits(buf.numpy().view(np.uint8), bitorder="little")[: self.vocab]
        return torch.from_numpy(bits.view(np.bool_))

    def sample(
        self,
        compiled: CompiledSchema,
        *,
        max_tokens: int,
        temperature: float = 1.0,
        seed: int | None = None,
        prompt_ids: list[int] | None = None,
        should_stop: Any = None,
        engine: str | None = None,
    ) -> Sample:
        """One constrained sample; raises `MaxTokensTooSmallError` before decoding if `max_tokens` is too small,
        `EngineUnsupportedError` if the engine asked for cannot enforce the grammar."""
        import torch

        if max_tokens < compiled.min_max_tokens:
            raise MaxTokensTooSmallError(max_tokens, compiled.min_max_tokens)
        started = time.perf_counter()
        name = self.resolve(compiled, engine)
        matcher = self.engine_impl(name).matcher(compiled)
        gen = torch.Generator().manual_seed(seed if seed is not None else random.getrandbits(63))
        buf = torch.zeros((1, self._words), dtype=torch.int32)
        input_ids = torch.tensor([prompt_ids or [self.eos]])
        cache = new_cache(self.model)
        out: list[int] = []
        mask_s = 0.0
        n_tokens = 0
        finished = False
        with torch.inference_mode():
            for _ in range(max_tokens):
                if should_stop is not None and should_stop():
                    raise DecodingCancelled("decoding was cancelled")
                t0 = time.perf_counter()
                allowed = self.allowed(matcher, buf)
                mask_s += time.perf_counter() - t0
                if allowed[self.eos] and int(allowed.sum()) == 1:
                    finished = True  # nothing but eos: the output is complete and cannot continue
                    break
                result = self.model(input_ids=input_ids, use_cache=True, **{self._cache_kwarg: cache})
                logits = result.logits[0, -1].float()
                allowed = allowed.to(logits.device)
                n = min(self.vocab, logits.shape[0])
                masked = logits  # in place: ids the grammar forbids, and ids beyond the tokenizer, get -inf
                masked[:n].masked_fill_(~allowed[:n], float("-inf"))
                masked[n:] = float("-inf")
                if temperature <= 0:
                    tok = int(torch.argmax(masked))
                else:
                    probs = torch.softmax(masked / temperature, dim=-1)
                    tok = int(torch.multinomial(probs, 1, generator=gen))
                if tok >= n or not allowed[tok]:
                    raise DecodingInvariantError(f"sampled token {tok}, which the mask forbids")
                n_tokens += 1
                if tok == self.eos:
                    finished = True
                    break
                t0 = time.perf_counter()
                matcher.consume(tok)
                mask_s += time.perf_counter() - t0
                out.append(tok)
                input_ids = torch.tensor([[tok]])
        if not finished and not matcher.accepting():
            raise DecodingInvariantError(f"output incomplete after {max_tokens} tokens (bound violated)")
        if name != "llguidance" and not self.engine_impl("llguidance").accepts(compiled, out):
            raise DecodingInvariantError(f"{name} produced an output the compiled grammar rejects")
        data = self.ll_tokenizer.decode_bytes(out)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodingInvariantError(f"output is not UTF-8: {exc}") from None
        return Sample(text, out, n_tokens, mask_s, time.perf_counter() - started, name)


def cache_kwarg(model: Any) -> str:
    """The name of the KV-cache argument of `model.forward`: transformers 5.24 renamed `past_key_values` to
    `cache` (the old name warns); both versions fill a `DynamicCache` passed in, in place."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def new_cache(model: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers: no config argument
        return DynamicCache()
