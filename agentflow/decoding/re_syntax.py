"""Regex syntax trees: Python's own regex parser, read once into small typed nodes of ours.

`parse(pattern)` parses with the parser `re` itself uses (so a pattern means exactly what `re.search` makes of
it) and returns a `Regex` of the nodes below. The parser is a private module of the standard library
(`re._parser`, `sre_parse` before 3.11) whose tree shape has changed between versions; this module is the only
place that reads it, and tests/decoding/test_re_syntax.py pins its output on every Python version agentflow
supports (CI runs it on 3.11, 3.12 and 3.13). Pattern translation (`pattern.py`) and the lexeme automata
(`engines/automata.py`) work on these nodes only.

Nodes: `Char` (one code point), `NotChar`, `AnyChar` (`.`), `CharClass` (items: code points, ranges and
categories like ``\\d``; maybe negated), `Group` (a sub-sequence; `flagged` when it sets inline flags), `Alt`
(alternatives), `Repeat` (`lo`, `hi` or None for unbounded; lazy and possessive repeats match the same
language), `Anchor` (``^ $ \\A \\Z \\b \\B``) and `Unsupported` (back-references, look-around, conditionals:
named, for the error message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

try:  # Python 3.11+
    import re._constants as _c  # type: ignore[import-not-found,unused-ignore]
    import re._parser as _p  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover  (3.10 and older)
    import sre_constants as _c  # type: ignore[no-redef,unused-ignore]
    import sre_parse as _p  # type: ignore[no-redef,unused-ignore]

__all__ = [
    "Alt",
    "Anchor",
    "AnyChar",
    "Category",
    "Char",
    "CharClass",
    "Group",
    "Node",
    "NotChar",
    "Regex",
    "Repeat",
    "Unsupported",
    "parse",
]

Category = Literal[
    "digit", "not_digit", "word", "not_word", "space", "not_space", "linebreak", "not_linebreak"
]
AnchorKind = Literal["begin", "end", "begin_string", "end_string", "boundary", "non_boundary"]


@dataclass(frozen=True, slots=True)
class Char:
    code: int


@dataclass(frozen=True, slots=True)
class NotChar:
    code: int


@dataclass(frozen=True, slots=True)
class AnyChar:
    pass


@dataclass(frozen=True, slots=True)
class CharClass:
    """`[...]`: `chars` code points, `ranges` inclusive (lo, hi) pairs, `categories` (``\\d`` ...)."""

    negate: bool
    chars: frozenset[int]
    ranges: tuple[tuple[int, int], ...]
    categories: tuple[Category, ...]


@dataclass(frozen=True, slots=True)
class Group:
    items: tuple[Node, ...]
    flagged: bool = False  # the group sets or clears inline flags, e.g. (?i:...)


@dataclass(frozen=True, slots=True)
class Alt:
    branches: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    lo: int
    hi: int | None  # None: unbounded
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Anchor:
    kind: AnchorKind


@dataclass(frozen=True, slots=True)
class Unsupported:
    what: str  # the construct, e.g. "groupref", "assert_not"


Node = Char | NotChar | AnyChar | CharClass | Group | Alt | Repeat | Anchor | Unsupported


@dataclass(frozen=True, slots=True)
class Regex:
    """A parsed pattern: its top-level items and whether it sets global flags other than the default."""

    items: tuple[Node, ...]
    flagged: bool


_CATEGORIES: dict[Any, Category] = {
    _c.CATEGORY_DIGIT: "digit",
    _c.CATEGORY_NOT_DIGIT: "not_digit",
    _c.CATEGORY_WORD: "word",
    _c.CATEGORY_NOT_WORD: "not_word",
    _c.CATEGORY_SPACE: "space",
    _c.CATEGORY_NOT_SPACE: "not_space",
    _c.CATEGORY_LINEBREAK: "linebreak",
    _c.CATEGORY_NOT_LINEBREAK: "not_linebreak",
}
_ANCHORS: dict[Any, AnchorKind] = {
    _c.AT_BEGINNING: "begin",
    _c.AT_BEGINNING_STRING: "begin_string",
    _c.AT_END: "end",
    _c.AT_END_STRING: "end_string",
    _c.AT_BOUNDARY: "boundary",
    _c.AT_NON_BOUNDARY: "non_boundary",
}
_REPEATS = {
    _c.MAX_REPEAT,
    _c.MIN_REPEAT,
    *([_c.POSSESSIVE_REPEAT] if hasattr(_c, "POSSESSIVE_REPEAT") else []),
}


def parse(pattern: str, *, compile_check: bool = True) -> Regex:
    """Parse `pattern` as `re` does; raise `re.error` for an invalid one (and RecursionError for one nested
    beyond the interpreter's limits). `compile_check` also runs `re.compile`'s checks beyond the parser's (e.g.
    look-behind widths), for patterns from users; patterns agentflow generated itself skip it."""
    if compile_check:
        re.compile(pattern)
    parsed = _p.parse(pattern)
    return Regex(_seq(parsed), bool(parsed.state.flags & ~_c.SRE_FLAG_UNICODE))


def _seq(items: Any) -> tuple[Node, ...]:
    return tuple(_node(op, av) for op, av in items)


def _node(op: Any, av: Any) -> Node:
    if op is _c.LITERAL:
        return Char(av)
    if op is _c.NOT_LITERAL:
        return NotChar(av)
    if op is _c.ANY:
        return AnyChar()
    if op is _c.IN:
        return _class(av)
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return Group(_seq(sub), bool(add_flags or del_flags))
    if op is _c.BRANCH:
        return Alt(tuple(_seq(sub) for sub in av[1]))
    if op in _REPEATS:
        lo, hi, sub = av
        return Repeat(lo, None if hi is _c.MAXREPEAT else hi, _seq(sub))
    if op is _c.AT and av in _ANCHORS:
        return Anchor(_ANCHORS[av])
    return Unsupported(str(op).lower())


def _class(av: Any) -> Node:
    negate = False
    chars: set[int] = set()
    ranges: list[tuple[int, int]] = []
    categories: list[Category] = []
    for op, arg in av:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            chars.add(arg)
        elif op is _c.RANGE:
            ranges.append((arg[0], arg[1]))
        elif op is _c.CATEGORY and arg in _CATEGORIES:
            categories.append(_CATEGORIES[arg])
        else:
            return Unsupported(f"class item {str(op).lower()}")
    return CharClass(negate, frozenset(chars), tuple(ranges), tuple(categories))
