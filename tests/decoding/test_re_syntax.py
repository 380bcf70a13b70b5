"""Regex syntax trees read from Python's private regex parser: the exact trees are pinned here, so a Python
version whose parser changed shape fails these tests (CI runs them on 3.11, 3.12 and 3.13)."""

from __future__ import annotations

import re

import pytest

from agentflow.decoding.re_syntax import (
    Alt,
    Anchor,
    AnyChar,
    Char,
    CharClass,
    Group,
    NotChar,
    Regex,
    Repeat,
    Unsupported,
    parse,
)


def _chars(text: str) -> tuple[Char, ...]:
    return tuple(Char(ord(c)) for c in text)


CASES = [
    ("abc", Regex(_chars("abc"), False)),
    ("a.b", Regex((Char(97), AnyChar(), Char(98)), False)),
    (r"\.\-\\", Regex(_chars(".-\\"), False)),
    ("é", Regex((Char(0xE9),), False)),
    ("[a-z0-9_]", Regex((CharClass(False, frozenset({95}), ((97, 122), (48, 57)), ()),), False)),
    (r"[^\d\s,]", Regex((CharClass(True, frozenset({44}), (), ("digit", "space")),), False)),
    (
        r"\d\W",
        Regex(
            (CharClass(False, frozenset(), (), ("digit",)), CharClass(False, frozenset(), (), ("not_word",))),
            False,
        ),
    ),
    ("[^a]", Regex((NotChar(97),), False)),
    ("[a]", Regex((Char(97),), False)),
    ("(ab)(?:c)(?P<n>d)", Regex((Group(_chars("ab")), Char(99), Group(_chars("d"))), False)),  # (?:) inlined
    ("(?i:ab)", Regex((Group(_chars("ab"), flagged=True),), False)),
    ("(?i)ab", Regex(_chars("ab"), True)),
    ("ab|cd|", Regex((Alt((_chars("ab"), _chars("cd"), ())),), False)),
    (
        "a*b+c?",
        Regex((Repeat(0, None, _chars("a")), Repeat(1, None, _chars("b")), Repeat(0, 1, _chars("c"))), False),
    ),
    (
        "a{2}b{1,3}c{4,}d*?",
        Regex(
            (
                Repeat(2, 2, _chars("a")),
                Repeat(1, 3, _chars("b")),
                Repeat(4, None, _chars("c")),
                Repeat(0, None, _chars("d")),
            ),
            False,
        ),
    ),
    ("(?:ab)++", Regex((Repeat(1, None, _chars("ab")),), False)),
    (r"^a$", Regex((Anchor("begin"), Char(97), Anchor("end")), False)),
    (r"\Aa\Z", Regex((Anchor("begin_string"), Char(97), Anchor("end_string")), False)),
    (r"\ba\B", Regex((Anchor("boundary"), Char(97), Anchor("non_boundary")), False)),
    (r"(a)\1", Regex((Group(_chars("a")), Unsupported("groupref")), False)),
    ("a(?=b)", Regex((Char(97), Unsupported("assert")), False)),
    ("a(?!b)", Regex((Char(97), Unsupported("assert_not")), False)),
    ("(?<=a)b", Regex((Unsupported("assert"), Char(98)), False)),
    ("(a)?(?(1)b|c)", Regex((Repeat(0, 1, (Group(_chars("a")),)), Unsupported("groupref_exists")), False)),
    ("(?>ab)", Regex((Unsupported("atomic_group"),), False)),
    ("a|b", Regex((CharClass(False, frozenset({97, 98}), (), ()),), False)),
]


@pytest.mark.parametrize(("pattern", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_tree_is_pinned(pattern: str, expected: Regex) -> None:
    """Each pattern parses to exactly this tree of agentflow's nodes."""
    assert parse(pattern) == expected


def test_invalid_patterns_raise_re_error() -> None:
    """An invalid pattern raises `re.error` (the compile check catches what the parser alone lets through)."""
    for bad in ("(", "a{2,1}", "[z-a]", "(?<=a+)b"):
        with pytest.raises(re.error):
            parse(bad)
    assert parse("(?<=a+)b", compile_check=False).items[0] == Unsupported("assert")
