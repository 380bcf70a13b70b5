"""Unit tests of the bounded regex builders and the pattern translator (Python's `re` reads our dialect)."""

from __future__ import annotations

import random
import re

import pytest

from agentflow.decoding.pattern import PatternError, translate_pattern
from agentflow.decoding.regexes import int_range_regex, number_regex


@pytest.mark.parametrize(
    "lo,hi", [(0, 0), (0, 9), (5, 123), (-17, 4), (-300, -7), (1, 1000), (99, 101), (-9, 0)]
)
def test_int_range_exact(lo: int, hi: int) -> None:
    rx, max_bytes = int_range_regex(lo, hi)
    pat = re.compile(rx)
    for n in range(lo - 50, hi + 51):
        assert bool(pat.fullmatch(str(n))) == (lo <= n <= hi), n
    assert not pat.fullmatch("-0") and not pat.fullmatch("007")
    assert max_bytes == max(len(str(lo)), len(str(hi)))


@pytest.mark.parametrize(
    "lo,lo_x,hi,hi_x,integer",
    [
        (0, False, 1, False, False),
        (0.5, True, 2.5, True, False),
        (-3.2, False, -1, True, False),
        (None, False, 10, True, False),
        (-1e3, False, None, False, True),
        (None, False, None, False, False),
        (-0.5, False, 0.5, False, False),
        (0, True, None, False, True),
    ],
)
def test_number_regex_within_bounds(lo, lo_x, hi, hi_x, integer) -> None:  # type: ignore[no-untyped-def]
    found = number_regex(lo, lo_x, hi, hi_x, integer=integer, span=1000, frac_digits=3)
    assert found is not None
    pat = re.compile(found[0])
    rng = random.Random(0)
    hits = 0
    for _ in range(20000):
        whole = rng.randint(-1200, 1200)
        text = (
            str(whole) if rng.random() < 0.5 else f"{whole}.{rng.randint(0, 999):0{rng.randint(1, 3)}d}"[:12]
        )
        if rng.random() < 0.1:
            text = "-" + text.lstrip("-")
        if pat.fullmatch(text):
            hits += 1
            v = float(text)
            assert len(text) <= found[1]
            assert lo is None or (v > lo if lo_x else v >= lo), text
            assert hi is None or (v < hi if hi_x else v <= hi), text
            assert not integer or "." not in text
            assert text != "-0" and not re.match(r"-?0\d", text)
    assert hits > 0


def test_empty_number_range() -> None:
    assert number_regex(1, True, 1, False, integer=True, span=10, frac_digits=0) is None


@pytest.mark.parametrize(
    "pattern,good,bad",
    [
        (r"^[a-z]+$", ["abc"], ["ab1", ""]),
        (r"^allow|deny$", ["allow", "deny"], ["allo"]),
        (r"^[0-9]{5}(-[0-9]{4})?$", ["12345", "12345-6789"], ["1234"]),
        (r"^\d{3}-\w+", ["123-ab_c"], ["12-a"]),
        (r"colou?r", ["color", "colour"], ["colr"]),
        (r'^[^"\\]+$', ["ab c"], ['a"b']),
    ],
)
def test_pattern_translation_sound(pattern: str, good: list[str], bad: list[str]) -> None:
    tp = translate_pattern(pattern)
    rx = re.compile(tp.regex)
    for s in good:
        assert rx.fullmatch(s), s
        assert tp.lengths >> len(s) & 1
    for s in bad:
        assert not rx.fullmatch(s), s
    rng = random.Random(1)
    alphabet = 'abcdefxyz0123456789-_ ."\\'
    for _ in range(3000):  # every full match of the translation is found by re.search on the original
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if rx.fullmatch(s):
            assert re.search(pattern, s), (pattern, s)


@pytest.mark.parametrize("pattern", [r"(?=a)b", r"(a)\1", r"(?i)abc", r"a\bb", r"a^b", "[", r"^é+$"])
def test_untranslatable_patterns(pattern: str) -> None:
    with pytest.raises(PatternError):
        translate_pattern(pattern)


def test_format_regex_lengths_match_declared_bounds() -> None:
    """max_len feeds the token bound: it must be exact (checked with the pattern translator's length sets)."""
    from agentflow.decoding.regexes import FORMATS

    for name, spec in FORMATS.items():
        tp = translate_pattern("^" + spec.regex + "$")
        lengths = tp.lengths_in(0, 1000)
        assert (lengths[0], lengths[-1]) == (spec.min_len, spec.max_len), name
