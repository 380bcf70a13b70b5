"""Typed errors of the guaranteed-schema decoder."""

from __future__ import annotations

from agentflow.exceptions import ModelError, UserError

__all__ = [
    "DecodingInvariantError", "EngineUnsupportedError", "MaxTokensTooSmallError", "UnsupportedSchemaError",
    "UnsupportedTokenizerError",
]


class UnsupportedSchemaError(UserError):
    """A schema (or part of it) that agentflow cannot enforce faithfully, so it refuses to decode under it.

    `keyword` is the JSON Schema keyword at fault (e.g. ``"not"``), `pointer` the JSON Pointer of the
    subschema holding it (e.g. ``"/properties/x"``), `reason` a human explanation.
    """

    def __init__(self, keyword: str, pointer: str, reason: str) -> None:
        self.keyword = keyword
        self.pointer = pointer
        self.reason = reason
        super().__init__(f"unsupported schema: keyword {keyword!r} at {pointer or '/'}: {reason}")

    def as_dict(self) -> dict[str, str]:
        return {"keyword": self.keyword, "pointer": self.pointer, "reason": self.reason}


class MaxTokensTooSmallError(UserError):
    """`max_tokens` is below the minimum that guarantees a complete, valid output for this schema."""

    def __init__(self, max_tokens: int, minimum: int) -> None:
        self.max_tokens = max_tokens
        self.minimum = minimum
        super().__init__(f"max_tokens={max_tokens} is below the guaranteed minimum {minimum} for this schema")


class UnsupportedTokenizerError(UserError):
    """A tokenizer the guarantee does not hold for (e.g. a token that decodes to no bytes, no eos token)."""


class DecodingInvariantError(ModelError):
    """The constrained decoder broke an invariant it relies on (a bug or an engine resource limit)."""


class EngineUnsupportedError(UnsupportedSchemaError):
    """A schema the compiler supports but one mask engine cannot enforce exactly (its grammar syntax lacks
    llguidance's regex intersection, or the translation exceeds the engine's limits). Other engines may still
    decode it; a model bound to this engine refuses it."""

    def __init__(self, engine: str, keyword: str, pointer: str, reason: str) -> None:
        self.engine = engine
        super().__init__(keyword, pointer, f"mask engine {engine}: {reason}")
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {**super().as_dict(), "engine": self.engine}
