"""`auto`: per compiled schema and tokenizer, the supported engine that measures cheapest.

The measurement is what one engine costs for this grammar on this vocabulary: compiling it (zero when that
engine already holds it) plus `DECODES` decodes at the bound, each token's mask time taken from a short probe
walk (`PROBE_STEPS` tokens, the same walk for every engine). The choice is cached under (grammar text,
tokenizer fingerprint, engine set), so it is made once per schema and process, and on disk
(`choice_cache`), so later processes skip the measuring: the stored engine builds the grammar and is used
unless it now refuses it. Grammars that differ only in quoted request text (`decoding.quotes`) share a choice,
and their compile is counted once per decode, since each request compiles anew. Every engine accepts the same
outputs, so the choice never changes what is valid; it can change which valid text a seed gives, because
llguidance offers only the canonical tokenization of bytes the grammar forces, where xgrammar and
outlines_core offer every token that fits (pin `engine=` for seed-for-seed reproducibility across processes).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.engines import engine_support
from agentflow.decoding.engines.choice_cache import ChoiceCache
from agentflow.exceptions import EngineUnsupportedError, UnsupportedSchemaError

if TYPE_CHECKING:
    from agentflow.decoding.engines.base import MaskEngine

__all__ = ["DECODES", "PROBE_STEPS", "Choice", "EngineSelector"]

PROBE_STEPS = 24
DECODES = 10  # decisions one compiled decision schema serves, roughly: an agent run's steps


@dataclass(frozen=True, slots=True)
class Measure:
    compile_s: float
    mask_us_per_token: float
    score_s: float


@dataclass(frozen=True, slots=True)
class Choice:
    """The engine chosen for one grammar, what each candidate measured, and why the others were refused."""

    engine: str
    measured: dict[str, Measure] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    stored: bool = False  # taken from the on-disk cache of an earlier process's measurement


class EngineSelector:
    def __init__(
        self,
        get_engine: Any,
        fingerprint: str,
        eos: int,
        vocab_size: int,
        stored: ChoiceCache | None = None,
    ) -> None:
        self._get = get_engine
        self._fingerprint = fingerprint
        self._eos = eos
        self._vocab = vocab_size
        self._words = (vocab_size + 31) // 32
        self._cache: OrderedDict[tuple[str, str, tuple[str, ...]], Choice] = OrderedDict()
        self._stored = stored if stored is not None else ChoiceCache()

    def choose(self, compiled: CompiledSchema, names: tuple[str, ...]) -> Choice:
        # grammars that differ only in quoted request text share one choice (measured on the first of them)
        key = (compiled.family or compiled.lark, self._fingerprint, names)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            if key[0] == compiled.lark or self._builds(compiled, hit.engine):
                return hit
            # this grammar of the family (e.g. a long request's quotes) outgrew the family's engine: its own
            # choice, among the engines that build it
            key = (compiled.lark, self._fingerprint, names)
            own = self._cache.get(key)
            if own is None:
                own = self._cache[key] = self._measure_all(compiled, names)
                self._trim()
            return own
        disk_key = ChoiceCache.key(key[0], self._fingerprint, names)
        choice = self._from_disk(compiled, names, disk_key) or self._measure_all(compiled, names)
        if not choice.stored:
            self._stored.put(disk_key, choice.engine)
        self._cache[key] = choice
        self._trim()
        return choice

    def _trim(self) -> None:
        while len(self._cache) > 256:
            self._cache.popitem(last=False)

    def _builds(self, compiled: CompiledSchema, name: str) -> bool:
        """Whether engine `name` enforces `compiled` (building it now: the decode reuses the build)."""
        try:
            engine_support(compiled, name)
            self._get(name).prepare(compiled)
        except EngineUnsupportedError:
            return False
        return True

    def _from_disk(self, compiled: CompiledSchema, names: tuple[str, ...], disk_key: str) -> Choice | None:
        """The engine an earlier process chose, if it still builds this grammar (else forget it)."""
        name = self._stored.get(disk_key)
        if name is None or name not in names:
            return None
        try:
            engine_support(compiled, name)
            self._get(name).prepare(compiled)
        except Exception:  # a stale or unusable remembered choice: forget it and measure again
            self._stored.forget(disk_key)
            return None
        return Choice(name, stored=True)

    def _measure_all(self, compiled: CompiledSchema, names: tuple[str, ...]) -> Choice:
        measured: dict[str, Measure] = {}
        refused: dict[str, str] = {}
        errors: list[EngineUnsupportedError] = []
        for name in names:
            try:
                engine_support(compiled, name)
            except EngineUnsupportedError as exc:
                refused[name] = exc.reason
                errors.append(exc)
                continue
            try:
                measured[name] = self._measure(self._get(name), compiled)
            except EngineUnsupportedError as exc:  # e.g. an outlines_core index build past its limits
                refused[name] = exc.reason
                errors.append(exc)
        if not measured:
            first = errors[0]
            raise UnsupportedSchemaError(
                first.keyword,
                first.pointer,
                "no mask engine can enforce it: " + "; ".join(f"{n}: {r}" for n, r in refused.items()),
            )
        best = min(measured, key=lambda n: measured[n].score_s)
        return Choice(best, measured, refused)

    def _measure(self, engine: MaskEngine, compiled: CompiledSchema) -> Measure:
        import numpy as np
        import torch

        t0 = time.perf_counter()
        engine.prepare(compiled)
        compile_s = time.perf_counter() - t0
        buf = torch.zeros((1, self._words), dtype=torch.int32)
        matcher = engine.matcher(compiled)
        spent, steps = 0.0, 0
        for step in range(PROBE_STEPS):
            t0 = time.perf_counter()
            matcher.fill(buf)
            spent += time.perf_counter() - t0
            steps += 1
            bits = np.unpackbits(buf.numpy().view(np.uint8), bitorder="little")[
                : self._vocab
            ]  # no padding bits
            allowed = np.flatnonzero(bits)
            allowed = allowed[allowed != self._eos]
            if not len(allowed):
                break
            t0 = time.perf_counter()
            matcher.consume(int(allowed[(step * 7919) % len(allowed)]))
            spent += time.perf_counter() - t0
        per_token = spent / steps
        # a grammar holding request text is compiled again for every request: its compile counts each decode
        compiles = DECODES if compiled.per_request else 1
        return Measure(
            compile_s, 1e6 * per_token, compiles * compile_s + DECODES * per_token * compiled.min_max_tokens
        )
