"""Quoted strings: string values that must be copied verbatim from a source text (the user's request).

A schema node marked ``{"type": "string", "x-agentflow-quoted": "request"}`` (what `agentflow.Quoted` puts in
a tool's schema) means: the value is a *span* of the source text, from the start of a word (or symbol) to the
end of one, exactly as written there. The source is known only per request, so a marked schema is *bound*
first (`bind_quotes`: the text rides along under the private key ``__quoted_text__``); the compiler then turns
the node into one lexeme whose language is exactly those spans, JSON-encoded:

- the source is cut into chunks: runs of word characters, runs of whitespace, and single other characters;
- a span is a run of whole chunks that neither starts nor ends with whitespace (so it is never empty);
- ``maxLength`` caps the span's encoded bytes (a subset: every span kept has at most that many characters),
  ``minLength`` above 1 counts characters exactly;
- the encoding is `json.dumps(..., ensure_ascii=True)`'s, so quotes, backslashes, control characters and any
  non-ASCII text (``\\u00e9``, surrogate pairs) come out as the ASCII the grammar is written in.

llguidance gets the language natively (``%regex {"substring_chunks": [...]}``, intersected with the edge rule);
the engines that need automata get it from `engines.automata.lexeme_dfa`, built from the same chunks; the
tests check that both accept the same strings. An unbound marked node compiles as an ordinary string (that is
what `schema check` reports) with a cap note saying so.

`is_quote(value, text)` is the same predicate on decoded strings: what tool-side validation and the output
check use for models that do not decode under the grammar (`validator_for_quotes` adds it to a jsonschema
validator class as the keyword's check).
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from agentflow.decoding.grammar import Lang
from agentflow.decoding.regexes import lit_regex
from agentflow.exceptions import UnsupportedSchemaError

if TYPE_CHECKING:
    from agentflow.decoding.compile import Compiler

__all__ = [
    "CHAR_REGEX",
    "KEYWORD",
    "NOTHING_TO_QUOTE",
    "SOURCES",
    "TEXT_KEY",
    "bind_quotes",
    "check_quoted",
    "chunks",
    "edge_regexes",
    "encode",
    "has_quotes",
    "is_quote",
    "provider_schema",
    "quoted_string",
    "spans",
    "validator_for_quotes",
]

#: The schema keyword `agentflow.Quoted` sets; its value names the source ("request": the latest user message).
KEYWORD = "x-agentflow-quoted"
#: Sources a quote can be taken from.
SOURCES = ("request",)
#: Private key holding the bound source text next to the marker (never sent to a provider).
TEXT_KEY = "__quoted_text__"

#: Part of the refusal's reason when the source has nothing to quote (`compile_decision` then leaves the tool out).
NOTHING_TO_QUOTE = "has no text to quote"

#: One JSON-encoded character (code point) of our encoding, as a regex: an astral character is one surrogate
#: pair of escapes, as JSON Schema's lengths count it.
CHAR_REGEX = (
    r"(?:\x5cud[89ab][0-9a-f]{2}\x5cud[c-f][0-9a-f]{2}|[\x20\x21\x23-\x5b\x5d-\x7e]|\x5c[\x22\x5c\x2fbfnrt]"
    r"|\x5cu(?:[0-9a-c][0-9a-f]{3}|d[0-7][0-9a-f]{2}|[ef][0-9a-f]{3}))"
)
_ASCII_TEXT = r"[\x20-\x7e]"


def encode(text: str) -> str:
    """`text` as the inside of a JSON string literal, ASCII only (the encoding the grammar emits)."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


def _kind(ch: str) -> str:
    if ch.isspace():
        return "space"
    if ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M"):
        return "word"
    return "other"


def chunks(text: str) -> list[str]:
    """`text` cut into chunks: runs of word characters, runs of whitespace, single other characters."""
    out: list[str] = []
    kind = ""
    for ch in text:
        k = _kind(ch)
        if out and k == kind and k != "other":
            out[-1] += ch
        else:
            out.append(ch)
        kind = k
    return out


def _bounds(text: str) -> tuple[set[int], set[int]]:
    """Offsets where a span may start (a non-space chunk begins) and end (a non-space chunk ends)."""
    starts: set[int] = set()
    ends: set[int] = set()
    at = 0
    for piece in chunks(text):
        if not piece[0].isspace():
            starts.add(at)
            ends.add(at + len(piece))
        at += len(piece)
    return starts, ends


def is_quote(value: str, text: str) -> bool:
    """Is `value` a span of `text` (whole chunks, not starting or ending with whitespace)?"""
    if not value or not isinstance(value, str):
        return False
    starts, ends = _bounds(text)
    at = text.find(value)
    while at >= 0:
        if at in starts and at + len(value) in ends:
            return True
        at = text.find(value, at + 1)
    return False


def spans(text: str, limit: int) -> list[str] | None:
    """Every distinct span of `text` in order of appearance, or None when there are more than `limit`."""
    starts, ends = _bounds(text)
    out: dict[str, None] = {}
    for a in sorted(starts):
        for b in sorted(e for e in ends if e > a):
            out[text[a:b]] = None
            if len(out) > limit:
                return None
    return list(out)


# ------------------------------------------------------------------------------------------------- schemas


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def has_quotes(schema: Any) -> bool:
    """Does `schema` mark any string as quoted?"""
    return any(KEYWORD in node for node in _walk(schema))


def bind_quotes(schema: Any, text: str | None) -> Any:
    """A copy of `schema` whose quoted strings are bound to `text` (unchanged when nothing is marked or `text` is
    None)."""
    if text is None or not has_quotes(schema):
        return schema
    out = copy.deepcopy(schema)
    for node in _walk(out):
        if KEYWORD in node:
            node[TEXT_KEY] = text
    return out


def provider_schema(schema: Any, limit: int = 256) -> Any:
    """`schema` as sent to a provider that enforces JSON Schema itself (`response_format`): agentflow's private
    keys and the quote keyword removed, and a bound quoted string given the `enum` of its spans when there are
    at most `limit` (else it stays a plain string, and the reply is checked and retried by agentflow)."""
    if not any(KEYWORD in node or TEXT_KEY in node for node in _walk(schema)):
        return schema
    out = copy.deepcopy(schema)
    for node in _walk(out):
        text = node.pop(TEXT_KEY, None)
        if node.pop(KEYWORD, None) is not None and isinstance(text, str):
            found = spans(text, limit)
            if found:
                node["enum"] = found
    return out


@lru_cache(maxsize=16)
def validator_for_quotes(cls: Any) -> Any:
    """`cls` (a jsonschema validator class) extended with the quoted keyword: a bound node's instance must be a
    span of its text (`is_quote`); unbound nodes pass."""
    from jsonschema import ValidationError, validators

    def quoted(validator: Any, source: Any, instance: Any, schema: Any) -> Iterator[Any]:
        text = schema.get(TEXT_KEY) if isinstance(schema, dict) else None
        if text is None or not isinstance(instance, str) or instance == "":
            return  # (an empty value quotes nothing; minLength decides whether it is allowed)
        if not is_quote(instance, text):
            yield ValidationError(
                f"{json.dumps(instance, ensure_ascii=False)[:80]} is not copied verbatim from the {source} "
                "(it must be a span of it, from word to word, exactly as written)"
            )

    return validators.extend(cls, {KEYWORD: quoted})


# ------------------------------------------------------------------------------------------------- compiling


def check_quoted(node: dict[str, Any], ptr: str) -> None:
    """Refuse a quoted node the compiler cannot enforce exactly (`UnsupportedSchemaError` naming the keyword)."""
    source = node.get(KEYWORD)
    if source not in SOURCES:
        raise UnsupportedSchemaError(
            KEYWORD, ptr, f"unknown quote source {source!r}; known: {', '.join(SOURCES)}"
        )
    for other in ("pattern", "format", "enum", "const"):
        if other in node:
            raise UnsupportedSchemaError(KEYWORD, ptr, f"a quoted string cannot also have {other!r}")
    kind = node.get("type", "string")
    if kind != "string":
        raise UnsupportedSchemaError(KEYWORD, ptr, f"only strings can be quoted (type {kind!r})")


def quoted_string(self: Compiler, node: dict[str, Any], ptr: str) -> Lang | None:
    """The language of a quoted string node (a `Compiler` method): spans of the bound text, JSON-encoded.
    None when the node is unbound (the caller compiles an ordinary string) or nothing can be quoted."""
    check_quoted(node, ptr)
    source = node[KEYWORD]
    text = node.get(TEXT_KEY)
    if text is None:
        return None  # unbound: the caller compiles an ordinary string and notes it
    if not isinstance(text, str):
        raise UnsupportedSchemaError(KEYWORD, ptr, "the bound source is not a string")
    min_len = int(node.get("minLength", 0))
    max_len = node.get("maxLength")
    pieces = chunks(text.strip())
    encoded = tuple(encode(p) for p in pieces)
    if not pieces:
        self.empty(KEYWORD, ptr, f"the {source} {NOTHING_TO_QUOTE}")
        return None
    longest = sum(len(e) for e in encoded)
    parts: list[str] = []
    if max_len is not None and len(text.strip()) > max_len:
        if max_len < 1:
            self.empty("maxLength", ptr, "a quote is never empty")
            return None
        parts.append(f"{CHAR_REGEX}{{1,{int(max_len)}}}")  # characters, as maxLength counts them
        longest = min(longest, _widest_window(text.strip(), int(max_len)))
    if min_len > 1:
        parts.append(f"{CHAR_REGEX}{{{min_len}}}{_ASCII_TEXT}*")
    sym = self.g.quote(encoded, *parts, origin=(KEYWORD, ptr))
    return Lang(sym, longest + 2, frozenset({"string"}))


def _widest_window(text: str, width: int) -> int:
    """The most JSON bytes any `width` consecutive characters of `text` take (a capped span's longest form)."""
    sizes = [len(encode(ch)) for ch in text]
    best = window = sum(sizes[:width])
    for i in range(width, len(sizes)):
        window += sizes[i] - sizes[i - width]
        best = max(best, window)
    return best


def edge_regexes(encoded: tuple[str, ...]) -> list[str]:
    """The edge rule as llguidance lexeme parts over the encoded chunks: non-empty, and (when the text has
    whitespace) not starting or ending with it. `automata` builds the same rule into its automaton instead."""
    spaces = sorted({e for e in encoded if json.loads(f'"{e}"')[:1].isspace()})
    chars = sorted({encode(ch) for e in spaces for ch in json.loads(f'"{e}"')})
    out = [f"{_ASCII_TEXT}+"]
    if chars:
        ws = "(?:" + "|".join(lit_regex(c) for c in chars) + ")"
        out.append(f"~(?:{ws}{_ASCII_TEXT}*|{CHAR_REGEX}*{ws})")
    return out
