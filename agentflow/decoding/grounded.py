"""Grounded answers: a free-text answer whose numbers are all copied verbatim from the conversation.

A string node marked ``"x-agentflow-grounded": "conversation"`` and bound to source texts (`bind_grounded`: the
request, the tool observations, the arguments of the calls made) is decoded so that every ASCII digit of the
answer sits in a *span* copied from one source (whole chunks, not starting or ending with whitespace, as
`decoding.quotes` defines them), and a span is a word of its own: in the whitespace-separated word that holds
it, everything else is punctuation. So "20:45:30-05:00" can be quoted whole (or as "20:45"), never recombined
into "20:45:30:30"; a result "992227.6" cannot come out as "992226.6"; a note's "pin4512" neither as "pin4521"
nor as "pin" glued to a number from elsewhere. Text without digits stays free. As a regular expression over the
answer (X: free text returning to a word boundary, PUNCT: punctuation, WS: whitespace, WORD: letters and
punctuation starting with a letter):

    X (SPAN PUNCT* WS X)* (SPAN PUNCT* | WORD)?      X = (PUNCT | WS | WORD WS)*

With a word list (`bind_grounded(..., words=[...])`: the model's own answer vocabulary) grounding covers words
too: each whitespace-separated item of the answer is either a copied span or words of that list, with
punctuation around and between:

    WS* (ITEM WS+)* ITEM?      ITEM = PUNCT* (SPAN | WORD (PUNCT+ WORD)*) PUNCT* | PUNCT+

so a note text or a name is copied from the conversation or not written at all ("Noted: buy milk", never
"Noted: buy nuk"). It suits models with a fixed answer style (the demo model); a general assistant wants the
first form at most.

Only llguidance enforces it (natively: substring lexemes inside one regex-like terminal, capped by
``maxLength``); the automaton of the capped language grows with source length times the cap, so the automaton
engines (xgrammar, outlines_core) refuse a grounded node with `EngineUnsupportedError` naming the keyword, and
`auto` picks llguidance. `is_grounded` is the same predicate on decoded strings.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from agentflow.decoding.grammar import Lang
from agentflow.decoding.quotes import chunks, edge_regexes, encode, is_quote
from agentflow.exceptions import UnsupportedSchemaError

if TYPE_CHECKING:
    from agentflow.decoding.compile import Compiler

__all__ = ["FREE_UNIT", "KEYWORD", "SOURCES_KEY", "bind_grounded", "grounded_string", "is_grounded"]

KEYWORD = "x-agentflow-grounded"
SOURCES_KEY = "__grounded_sources__"
WORDS_KEY = "__grounded_words__"

#: One JSON-encoded character of free text: printable ASCII but the quote, backslash and digits, or an escape
#: (the plain string's alphabet without digits).
FREE_UNIT = r"(?:[\x20\x21\x23-\x2f\x3a-\x5b\x5d-\x7e]|\x5c[\x22\x5cnt])"
_WS = r"(?:\x20|\x5c[nt])"
_PUNCT = r"(?:[\x21\x23-\x2f\x3a-\x40\x5b\x5d\x5e\x60\x7b-\x7e]|\x5c[\x22\x5c])"
_LETTER = r"[A-Za-z_]"
_NOWS = r"(?:[\x21\x23-\x2f\x3a-\x5b\x5d-\x7e]|\x5c[\x22\x5c])"  # free, not whitespace
_WORD = f"{_LETTER}{_NOWS}*"
_X = f"(?:{_PUNCT}|{_WS}|{_WORD}{_WS})*"


def bind_grounded(schema: Any, sources: list[str], words: list[str] | None = None) -> Any:
    """A copy of a marked string `schema` bound to `sources` (unchanged when not marked); with `words`, words
    outside copied spans must come from that list (ASCII letters and digits, starting with a letter: "km2"; each
    also allowed capitalised)."""
    if not isinstance(schema, dict) or KEYWORD not in schema:
        return schema
    out = copy.deepcopy(schema)
    out[SOURCES_KEY] = [s for s in sources if s.strip()]
    if words is not None:
        bad = [w for w in words if not (w.isascii() and w.isalnum() and w[:1].isalpha())]
        if bad:
            raise UnsupportedSchemaError(
                KEYWORD,
                "",
                f"answer words must be ASCII letters and digits, starting with a letter: {bad[:5]}",
            )
        out[WORDS_KEY] = sorted({v for w in words for v in (w, w[:1].upper() + w[1:])})
    return out


def _kind(ch: str) -> str:
    """ "ws", "punct" or "letter" for a character free text may hold; "" for one it may not (digits, non-ASCII)."""
    if ch in "\n\t ":
        return "ws"
    if (ch.isascii() and ch.isalpha()) or ch == "_":
        return "letter"
    if ch in '"\\' or ("!" <= ch <= "~" and not ch.isdigit()):
        return "punct"
    return ""


def is_grounded(value: str, sources: list[str], max_length: int | None = None) -> bool:
    """Does `value` keep every digit in a span of `sources`, each span a word of its own (module docstring)?"""
    if not isinstance(value, str):
        return False
    if max_length is not None and len(encode(value)) > max_length:
        return False
    n = len(value)
    # states at a position: "clean" (at a word boundary or in punctuation: a span may start), "dirty" (in a
    # word with letters), "tail" (right after a span: punctuation, then whitespace, may follow)
    states: list[set[str]] = [set() for _ in range(n + 1)]
    states[0].add("clean")
    for i in range(n + 1):
        here = states[i]
        if "clean" in here:  # a span may start at i
            for j in range(i + 1, n + 1):
                piece = value[i:j]
                if not any(piece in s for s in sources):
                    break
                if any(is_quote(piece, s) for s in sources):
                    states[j].add("tail")
        if i == n or not here:
            continue
        kind = _kind(value[i])
        for state in here:
            if kind == "ws":
                states[i + 1].add("clean")
            elif kind == "punct":
                states[i + 1].add(state)
            elif kind == "letter" and state != "tail":
                states[i + 1].add("dirty")
    return bool(states[n])


def _spans_from(value: str, i: int, sources: list[str]) -> list[int]:
    """Ends j of the spans of `sources` that `value[i:j]` is."""
    out = []
    for j in range(i + 1, len(value) + 1):
        piece = value[i:j]
        if not any(piece in src for src in sources):
            break
        if any(is_quote(piece, src) for src in sources):
            out.append(j)
    return out


def is_grounded_words(
    value: str, sources: list[str], words: list[str], max_length: int | None = None
) -> bool:
    """The word-list form (module docstring): every item a copied span or words of `words`."""
    if not isinstance(value, str):
        return False
    if max_length is not None and len(encode(value)) > max_length:
        return False
    vocab = set(words)
    n = len(value)
    # "ws" (between items), "pre" (an item's leading punctuation), "word" (after a listed word), "wpunct"
    # (punctuation after a word: another word may follow), "span" (after a span), "tail" (its punctuation)
    states: list[set[str]] = [set() for _ in range(n + 1)]
    states[0].add("ws")
    for i in range(n + 1):
        here = states[i]
        if not here:
            continue
        if here & {"ws", "pre"}:
            for j in _spans_from(value, i, sources):
                states[j].add("span")
        if here & {"ws", "pre", "wpunct"}:
            j = i
            while j < n and value[j].isascii() and value[j].isalnum():
                j += 1
            if j > i and value[i:j] in vocab:
                states[j].add("word")
        if i == n:
            continue
        kind = _kind(value[i])
        for state in here:
            if kind == "ws":
                states[i + 1].add("ws")
            elif kind == "punct":
                states[i + 1].add(
                    {"ws": "pre", "pre": "pre", "word": "wpunct", "wpunct": "wpunct", "span": "tail"}.get(
                        state, "tail"
                    )
                )
    return bool(states[n])


def grounded_string(self: Compiler, node: dict[str, Any], ptr: str) -> Lang | None:
    """The language of a bound grounded string node (a `Compiler` method); None when unbound."""
    if node.get(KEYWORD) != "conversation":
        raise UnsupportedSchemaError(
            KEYWORD, ptr, f"unknown source {node.get(KEYWORD)!r}; known: conversation"
        )
    for other in ("pattern", "format", "enum", "const", "minLength"):
        if other in node:
            raise UnsupportedSchemaError(KEYWORD, ptr, f"a grounded string cannot also have {other!r}")
    sources = node.get(SOURCES_KEY)
    if sources is None:
        return None
    cap = min(int(node.get("maxLength", self.limits.string_cap)), self.limits.hard_cap * 2)
    encoded = tuple(
        tuple(encode(piece) for piece in chunks(text.strip())) for text in sources if text.strip()
    )
    words = node.get(WORDS_KEY)
    sym = self.g.grounded(encoded, cap, tuple(words) if words is not None else None, origin=(KEYWORD, ptr))
    if "maxLength" not in node or cap < int(node["maxLength"]):
        self.cap(ptr, f"grounded answers capped at {cap} bytes")
    return Lang(sym, cap + 2, frozenset({"string"}))


def lark_body(
    name: str, sources: tuple[tuple[str, ...], ...], cap: int, words: tuple[str, ...] | None = None
) -> list[str]:
    """The Lark lines of a grounded lexeme `name` (its span terminals, then the answer terminal)."""
    lines = []
    spans = []
    for index, encoded in enumerate(sources):
        span = f"{name}S{index}"
        parts = [f"%regex {json.dumps({'substring_chunks': list(encoded)}, ensure_ascii=True)}"]
        parts += [f"~/{r[1:]}/" if r.startswith("~") else f"/{r}/" for r in edge_regexes(encoded)]
        lines.append(f"{span}: {' & '.join(parts)}")
        spans.append(span)
    if words is not None:
        any_span = f"({' | '.join(spans)})" if spans else None
        word = "(?:" + "|".join(words) + ")" if words else None
        heads = [x for x in (any_span, f"/{word}(?:{_PUNCT}+{word})*/" if word else None) if x]
        item = f"/{_PUNCT}+/"
        if heads:
            item = f"(/{_PUNCT}*/ ({' | '.join(heads)}) /{_PUNCT}*/ | {item})"
        body = f'("\\"" /{_WS}*/ ({item} /{_WS}+/)* ({item})? "\\"")'
        lines.append(f"{name}: {body} & /[\\x20-\\x7e]{{2,{cap + 2}}}/")
        return lines
    x = f"/{_X}/"
    if spans:
        any_span = f"({' | '.join(spans)})"
        after = f"/{_PUNCT}*{_WS}{_X}/"
        last = f"/{_PUNCT}*/"
        body = f'("\\"" {x} ({any_span} {after})* ({any_span} {last} | /{_WORD}/)? "\\"")'
    else:
        body = f'("\\"" {x} (/{_WORD}/)? "\\"")'
    lines.append(f"{name}: {body} & /[\\x20-\\x7e]{{2,{cap + 2}}}/")
    return lines
