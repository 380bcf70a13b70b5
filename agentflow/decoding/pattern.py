"""Translate a JSON Schema `pattern` into a bounded subset regex for llguidance, with its achievable lengths.

The translation is *sound*: every string the output regex matches (intersected with a length window) is
found by ``re.search(pattern, s)``. It keeps literals, character classes, ``.``, ``\\d \\w \\s`` (as ASCII subsets),
groups, alternation, greedy/lazy repeats, and ``^``/``$`` at the ends of top-level alternatives; every class is
intersected with printable ASCII minus ``"`` and ``\\`` so the string needs no escapes (one byte per character).
Anything else (look-around, back-references, flags, anchors in the middle, ``\\b``) raises `PatternError`.

Alongside the regex it computes the exact set of string lengths the regex can match (a bitset up to a hard
limit), so the compiler can prove that the pattern, intersected with minLength/maxLength caps, is non-empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentflow.decoding import re_syntax as rx
from agentflow.decoding.regexes import SAFE_CHARS, char_class

__all__ = ["PatternError", "TranslatedPattern", "translate_pattern"]

HARD_LIMIT = 1024  # lengths beyond this are never generated

_DIGITS = frozenset(range(0x30, 0x3A))
_WORD = frozenset([*range(0x30, 0x3A), *range(0x41, 0x5B), *range(0x61, 0x7B), 0x5F])
_SPACE = frozenset([0x20])
_CATEGORIES: dict[str, frozenset[int]] = {
    "digit": _DIGITS,
    "not_digit": SAFE_CHARS - _DIGITS,
    "word": _WORD,
    "not_word": SAFE_CHARS - _WORD,
    "space": _SPACE,
    "not_space": SAFE_CHARS - _SPACE,
}
_MASK = (1 << (HARD_LIMIT + 1)) - 1


class PatternError(ValueError):
    """The pattern uses a construct we cannot translate soundly."""


@dataclass(frozen=True, slots=True)
class TranslatedPattern:
    regex: str  # over string content, no quotes
    lengths: int  # bitset: bit n set <=> some match has length n (n <= HARD_LIMIT)

    def lengths_in(self, lo: int, hi: int) -> list[int]:
        return [n for n in range(lo, min(hi, HARD_LIMIT) + 1) if self.lengths >> n & 1]


def _conv(a: int, b: int) -> int:
    """Sum-set of two length bitsets."""
    out = 0
    n = 0
    while b:
        if b & 1:
            out |= a << n
        b >>= 1
        n += 1
    return out & _MASK


# A translated node: (regex or None for the empty language, lengths bitset)
_Node = tuple[str | None, int]


def _seq(items: tuple[rx.Node, ...]) -> _Node:
    parts: list[str] = []
    lengths = 1
    for node in items:
        regex, ln = _item(node)
        if regex is None:
            return None, 0
        parts.append(regex)
        lengths = _conv(lengths, ln)
    return "".join(parts), lengths


def _class_items(node: rx.CharClass) -> frozenset[int]:
    codes: set[int] = set(node.chars)
    for lo, hi in node.ranges:
        codes.update(range(lo, hi + 1))
    for category in node.categories:
        if category not in _CATEGORIES:
            raise PatternError(f"unsupported class category {category}")
        codes.update(_CATEGORIES[category])
    return SAFE_CHARS - codes if node.negate else SAFE_CHARS & codes


def _chars(codes: frozenset[int]) -> _Node:
    if not codes:
        return None, 0
    return char_class(codes), 0b10


def _item(node: rx.Node) -> _Node:
    match node:
        case rx.Char(code):
            return _chars(SAFE_CHARS & {code})
        case rx.NotChar(code):
            return _chars(SAFE_CHARS - {code})
        case rx.AnyChar():
            return _chars(SAFE_CHARS)
        case rx.CharClass():
            return _chars(_class_items(node))
        case rx.Group(items, flagged):
            if flagged:
                raise PatternError("inline flags")
            regex, ln = _seq(items)
            return (None, 0) if regex is None else (f"(?:{regex})", ln)
        case rx.Alt(branches):
            alts: list[str] = []
            lengths = 0
            for branch in branches:
                regex, ln = _seq(branch)
                if regex is not None:
                    alts.append(regex)
                    lengths |= ln
            return (None, 0) if not alts else ("(?:" + "|".join(alts) + ")", lengths)
        case rx.Repeat(lo, hi, items):
            return _repeat(lo, hi, items)
        case rx.Anchor():
            raise PatternError("anchor inside the pattern")
        case rx.Unsupported(what):
            raise PatternError(f"unsupported regex construct {what}")
    raise PatternError(f"unsupported regex construct {node!r}")  # pragma: no cover


def _repeat(lo: int, hi: int | None, items: tuple[rx.Node, ...]) -> _Node:
    regex, ln = _seq(items)
    if regex is None:
        return ("", 1) if lo == 0 else (None, 0)
    hi_eff = HARD_LIMIT if hi is None or hi > HARD_LIMIT else hi
    if lo > HARD_LIMIT:
        return None, 0
    total = 1
    for _ in range(lo):
        total = _conv(total, ln)
    acc, cur = total, total
    for _ in range(lo, hi_eff):
        nxt = _conv(cur, ln)
        if nxt == 0 or nxt == cur:
            break
        acc |= nxt
        cur = nxt
    quant = f"{{{lo},}}" if hi is None else f"{{{lo},{hi}}}"
    return f"(?:{regex}){quant}", acc


def _strip_anchors(items: tuple[rx.Node, ...]) -> tuple[rx.Node, ...]:
    if items and items[0] in (rx.Anchor("begin"), rx.Anchor("begin_string")):
        items = items[1:]
    if items and items[-1] in (rx.Anchor("end"), rx.Anchor("end_string")):
        items = items[:-1]
    return items


def translate_pattern(pattern: str) -> TranslatedPattern:
    """Translate `pattern` (see the module docstring); raise `PatternError` when it cannot be done soundly."""
    try:
        parsed = rx.parse(pattern)
    except (re.error, RecursionError) as exc:
        raise PatternError(f"invalid regex: {exc}") from None
    if parsed.flagged:
        raise PatternError("regex flags")
    items = parsed.items
    branches = list(items[0].branches) if len(items) == 1 and isinstance(items[0], rx.Alt) else [items]
    alts: list[str] = []
    lengths = 0
    for branch in branches:
        regex, ln = _seq(_strip_anchors(branch))
        if regex is not None:
            alts.append(regex)
            lengths |= ln
    if not alts:
        raise PatternError("no ASCII string without quotes or backslashes matches the pattern")
    return TranslatedPattern("(?:" + "|".join(alts) + ")" if len(alts) > 1 else alts[0], lengths)
