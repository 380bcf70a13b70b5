"""What a mask engine is: a grammar translation (tokenizer-free, cached per grammar), a compiled form bound to
one tokenizer (cached per engine instance), and matchers that fill a token bitmask and advance by a token.

Every engine gets the vocabulary from `TokenizerView`, i.e. from llguidance's byte-exact reading of the Hugging
Face tokenizer: each token's bytes (no string round trip, so no U+FFFD for tokens that split a UTF-8
character), special tokens other than eos never allowed. The compiled grammars are ASCII-only, so a token
carrying a partial UTF-8 character is simply never allowed, in every engine.

The bitmask layout is llguidance's and xgrammar's: int32 words, bit i of word w allows token 32 w + i.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentflow.decoding.compile import CompiledSchema
from agentflow.exceptions import DecodingInvariantError, EngineUnsupportedError

__all__ = ["MaskEngine", "Matcher", "TokenizerView"]


@dataclass(frozen=True)
class TokenizerView:
    """The vocabulary every engine sees: token bytes by id (b"" for special tokens), the eos id."""

    ll_tokenizer: Any = field(repr=False, compare=False)
    hf_tokenizer: Any = field(repr=False, compare=False)
    vocab_size: int
    eos: int
    token_bytes: tuple[bytes, ...] = field(repr=False)
    fingerprint: str = ""

    @staticmethod
    def from_hf(hf_tokenizer: Any) -> TokenizerView:
        import llguidance.hf

        ll = llguidance.hf.from_tokenizer(hf_tokenizer)
        tokens = tuple(b"" if ll.is_special_token(t) else ll.decode_bytes([t]) for t in range(ll.vocab_size))
        digest = hashlib.sha256()
        digest.update(f"{ll.vocab_size}:{ll.eos_token}:".encode())
        for t in tokens:
            digest.update(len(t).to_bytes(2, "little") + t)
        return TokenizerView(ll, hf_tokenizer, ll.vocab_size, ll.eos_token, tokens, digest.hexdigest()[:16])

    @property
    def words(self) -> int:
        return (self.vocab_size + 31) // 32


class Matcher(ABC):
    """The state of one decode under one grammar."""

    @abstractmethod
    def fill(self, buf: Any) -> None:
        """Write the allowed-token bitmask into `buf` (an int32 torch tensor of shape [1, words])."""

    @abstractmethod
    def consume(self, token: int) -> None:
        """Advance by `token`; raise `DecodingInvariantError` if the engine rejects it."""

    @abstractmethod
    def accepting(self) -> bool:
        """Is the output so far complete (eos allowed)?"""


class MaskEngine(ABC):
    """One mask engine bound to one tokenizer. `translate` is the tokenizer-free support check."""

    name: ClassVar[str]

    def __init__(self, view: TokenizerView) -> None:
        self.view = view
        self._compiled: dict[str, Any] = {}

    @classmethod
    @abstractmethod
    def translate(cls, compiled: CompiledSchema) -> Any:
        """This engine's form of the grammar; raises `EngineUnsupportedError` when it cannot be exact."""

    @abstractmethod
    def _compile(self, form: Any) -> Any:
        """The translated grammar compiled against `self.view`."""

    @abstractmethod
    def _matcher(self, prepared: Any) -> Matcher: ...

    def prepare(self, compiled: CompiledSchema) -> Any:
        """The tokenizer-bound grammar (cached per grammar text, refusals too: a build that ran out of time
        is not retried)."""
        hit = self._compiled.get(compiled.lark)
        if hit is None:
            try:
                hit = self._compile(self.translate(compiled))
            except EngineUnsupportedError as exc:
                hit = exc
            if len(self._compiled) >= 256:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[compiled.lark] = hit
        if isinstance(hit, EngineUnsupportedError):
            raise type(hit)(hit.engine, hit.keyword, hit.pointer, hit.reason)  # (an engine limit stays one)
        return hit

    def matcher(self, compiled: CompiledSchema) -> Matcher:
        return self._matcher(self.prepare(compiled))

    def invariant(self, what: str) -> DecodingInvariantError:
        return DecodingInvariantError(f"{self.name}: {what}")
