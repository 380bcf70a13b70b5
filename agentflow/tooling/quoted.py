"""`Quoted`: the marker for a string argument copied verbatim from the user's request.

    @agentflow.tool
    def write_note(text: Annotated[str, agentflow.Quoted()]) -> str: ...

The argument's JSON schema gets ``"x-agentflow-quoted": "request"``. Backends that decode under agentflow's
grammar (transformers, vLLM offline and server) then allow only *spans* of the request there: runs of whole
words and symbols, exactly as written, as the latest user message of the run has them (`decoding.quotes`). So
a small model cannot misspell what it copies, and an extraction tool cannot be handed text the user never
wrote. Everything else is checked instead: the arguments of every call are validated against the request
before the tool runs (a call whose argument is not a span is refused with an observation naming it, so scripted
and hosted models get the same contract), and hosted models' replies are validated (and retried) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from agentflow.decoding.quotes import KEYWORD, is_quote

__all__ = ["QUOTE_SOURCE", "Quoted"]

#: The pydantic validation-context key holding the request text quoted arguments are checked against.
QUOTE_SOURCE = "agentflow.quote_source"


@dataclass(frozen=True, slots=True)
class Quoted:
    """Mark a `str` argument (`Annotated[str, Quoted()]`) as a span of the user's request, copied exactly.

    With `maxLength` (`Field(max_length=...)`) spans are capped; an empty request leaves the tool uncallable
    for that decision (nothing to quote) instead of failing the run.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        if source is not str:  # (an optional quote: `Annotated[str, Quoted()] | None`)
            raise TypeError(
                f"Quoted() marks a str (a span of the request), not {source!r}; for an optional one write "
                "Annotated[str, Quoted()] | None"
            )
        return core_schema.with_info_after_validator_function(_check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = dict(handler(schema))
        out[KEYWORD] = "request"
        return out


def _check(value: Any, info: core_schema.ValidationInfo) -> Any:
    context = info.context if isinstance(info.context, dict) else None
    text = context.get(QUOTE_SOURCE) if context else None
    # (an empty value quotes nothing: allowed, like an argument's default of ""; `min_length=1` refuses it)
    if text is None or not isinstance(value, str) or value == "" or is_quote(value, text):
        return value
    raise PydanticCustomError(
        "not_quoted",
        "must be copied verbatim from the request (a span of it, from word to word, exactly as written)",
    )
