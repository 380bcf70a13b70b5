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
from typing import Any

from agentflow.decoding.regexes import SAFE_CHARS, char_class

try:  # Python 3.11+
    import re._constants as _c  # type: ignore[import-not-found]
    import re._parser as _p  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

__all__ = ["PatternError", "TranslatedPattern", "translate_pattern"]

HARD_LIMIT = 1024  # lengths beyond this are never generated

_DIGITS = frozenset(range(0x30, 0x3A))
_WORD = frozenset([*range(0x30, 0x3A), *range(0x41, 0x5B), *range(0x61, 0x7B), 0x5F])
_SPACE = frozenset([0x20])
_CATEGORIES = {
    _c.CATEGORY_DIGIT: _DIGITS, _c.CATEGORY_NOT_DIGIT: SAFE_CHARS - _DIGITS,
    _c.CATEGORY_WORD: _WORD, _c.CATEGORY_NOT_WORD: SAFE_CHARS - _WORD,
    _c.CATEGORY_SPACE: _SPACE, _c.CATEGORY_NOT_SPACE: SAFE_CHARS - _SPACE,
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


def _seq(items: list[Any]) -> _Node:
    parts: list[str] = []
    lengths = 1
    for op, av in items:
        rx, ln = _item(op, av)
        if rx is None:
            return None, 0
        parts.append(rx)
        lengths = _conv(lengths, ln)
    return "".join(parts), lengths


def _class_items(av: list[Any]) -> frozenset[int]:
    codes: set[int] = set()
    negate = False
    for op, arg in av:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            codes.add(arg)
        elif op is _c.RANGE:
            codes.update(range(arg[0], arg[1] + 1))
        elif op is _c.CATEGORY:
            if arg not in _CATEGORIES:
                raise PatternError(f"unsupported class category {arg}")
            codes.update(_CATEGORIES[arg])
        else:
            raise PatternError(f"unsupported class item {op}")
    return SAFE_CHARS - codes if negate else SAFE_CHARS & codes


def _chars(codes: frozenset[int]) -> _Node:
    if not codes:
        return None, 0
    return char_class(codes), 0b10


def _item(op: Any, av: Any) -> _Node:
    if op is _c.LITERAL:
        return _chars(SAFE_CHARS & {av})
    if op is _c.NOT_LITERAL:
        return _chars(SAFE_CHARS - {av})
    if op is _c.ANY:
        return _chars(SAFE_CHARS)
    if op is _c.IN:
        return _chars(_class_items(av))
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise PatternError("inline flags")
        rx, ln = _seq(list(sub))
        return (None, 0) if rx is None else (f"(?:{rx})", ln)
    if op is _c.BRANCH:
        alts: list[str] = []
        lengths = 0
        for sub in av[1]:
            rx, ln = _seq(list(sub))
            if rx is not None:
                alts.append(rx)
                lengths |= ln
        return (None, 0) if not alts else ("(?:" + "|".join(alts) + ")", lengths)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)):
        lo, hi, sub = av
        rx, ln = _seq(list(sub))
        if rx is None:
            return ("", 1) if lo == 0 else (None, 0)
        hi_eff = HARD_LIMIT if hi is _c.MAXREPEAT or hi > HARD_LIMIT else hi
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
        quant = f"{{{lo},}}" if hi is _c.MAXREPEAT else f"{{{lo},{hi}}}"
        return f"(?:{rx}){quant}", acc
    if op is _c.AT:
        raise PatternError("anchor inside the pattern")
    raise PatternError(f"unsupported regex construct {str(op).lower()}")


_BEGIN = {_c.AT_BEGINNING, _c.AT_BEGINNING_STRING}
_END = {_c.AT_END, _c.AT_END_STRING}


def _strip_anchors(items: list[Any]) -> list[Any]:
    if items and items[0][0] is _c.AT and items[0][1] in _BEGIN:
        items = items[1:]
    if items and items[-1][0] is _c.AT and items[-1][1] in _END:
        items = items[:-1]
    return items


def translate_pattern(pattern: str) -> TranslatedPattern:
    """Translate `pattern` (see the module docstring); raise `PatternError` when it cannot be done soundly."""
    try:
        re.compile(pattern)
        parsed = _p.parse(pattern)
    except (re.error, RecursionError) as exc:
        raise PatternError(f"invalid regex: {exc}") from None
    if parsed.state.flags & ~(_c.SRE_FLAG_UNICODE):
        raise PatternError("regex flags")
    items = list(parsed)
    if len(items) == 1 and items[0][0] is _c.BRANCH:
        branches = [list(b) for b in items[0][1][1]]
    else:
        branches = [items]
    alts: list[str] = []
    lengths = 0
    for branch in branches:
        rx, ln = _seq(_strip_anchors(branch))
        if rx is not None:
            alts.append(rx)
            lengths |= ln
    if not alts:
        raise PatternError("no ASCII string without quotes or backslashes matches the pattern")
    return TranslatedPattern("(?:" + "|".join(alts) + ")" if len(alts) > 1 else alts[0], lengths)
