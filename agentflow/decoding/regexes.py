"""Bounded regular expressions for JSON scalars, in the regex dialect of llguidance's Lark lexemes.

Every function returns a regex over the *JSON text* of a value (quotes included for strings) together with
the maximum number of bytes it can match, so the compiler can bound the length of a whole document. All
output is ASCII: strings draw from printable ASCII (escapes limited to ``\\" \\\\ \\n \\t``), numbers never use
exponents and never write ``-0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "FORMATS",
    "SAFE_CHARS",
    "FormatRegex",
    "char_class",
    "int_range_regex",
    "lit_regex",
    "number_regex",
    "string_regex",
]

#: Characters a string may contain unescaped: printable ASCII except `"` and `\`.
SAFE_CHARS = frozenset(c for c in range(0x20, 0x7F) if c not in (0x22, 0x5C))
_SAFE_CLASS = r"[\x20-\x21\x23-\x5b\x5d-\x7e]"
_ESCAPES = r'\\["\\nt]'


def _esc(code: int) -> str:
    ch = chr(code)
    return ch if ch.isalnum() or ch == "_" else f"\\x{code:02x}"


def lit_regex(text: str) -> str:
    """A regex matching exactly `text` (ASCII)."""
    return "".join(_esc(ord(c)) for c in text)


def char_class(codes: frozenset[int] | set[int]) -> str:
    """A regex character class for a non-empty set of ASCII codes (ranges merged)."""
    items = sorted(codes)
    if not items:
        raise ValueError("empty character class")
    if len(items) == 1:
        return _esc(items[0])
    parts: list[str] = []
    start = prev = items[0]
    for code in [*items[1:], None]:
        if code is not None and code == prev + 1:
            prev = code
            continue
        parts.append(f"\\x{start:02x}" if start == prev else f"\\x{start:02x}-\\x{prev:02x}")
        if code is not None:
            start = prev = code
    return "[" + "".join(parts) + "]"


def string_regex(min_len: int, max_len: int, *, escapes: bool = True) -> tuple[str, str | None, int]:
    """Regex for a JSON string of `min_len`..`max_len` characters; returns (regex, byte_cap_regex, max_bytes).

    With escapes the characters are counted as decoded characters by the first regex, and the second regex
    caps the *encoded* length at ``max_len + 2`` bytes (an intersection), so max_bytes stays `max_len + 2`.
    """
    unit = f"(?:{_SAFE_CLASS}|{_ESCAPES})" if escapes else _SAFE_CLASS
    main = f'"{unit}{{{min_len},{max_len}}}"'
    cap = f".{{{min_len + 2},{max_len + 2}}}" if escapes else None
    return main, cap, max_len + 2


# ----------------------------------------------------------------------------------------------- integers


def _same_len(lo: str, hi: str) -> list[str]:
    """Regex alternatives matching the decimal numbers lo..hi, both of the same length."""
    n = len(lo)
    if n == 0:
        return [""]
    if lo[0] == hi[0]:
        return [lo[0] + s for s in _same_len(lo[1:], hi[1:])]
    rest = n - 1
    tail = "[0-9]" * rest if rest <= 2 else f"[0-9]{{{rest}}}"
    out: list[str] = []
    start, end = int(lo[0]), int(hi[0])
    if lo[1:] != "0" * rest:
        out += [lo[0] + s for s in _same_len(lo[1:], "9" * rest)]
        start += 1
    full_hi = hi[1:] == "9" * rest
    mid_end = end if full_hi else end - 1
    if start <= mid_end:
        out.append((str(start) if start == mid_end else f"[{start}-{mid_end}]") + tail)
    if not full_hi:
        out += [hi[0] + s for s in _same_len("0" * rest, hi[1:])]
    return out


def _nonneg_range(lo: int, hi: int) -> list[str]:
    out: list[str] = []
    while lo <= hi:
        digits = len(str(lo))
        end = min(hi, 10**digits - 1)
        out += _same_len(str(lo), str(end))
        lo = end + 1
    return out


def int_range_regex(lo: int, hi: int) -> tuple[str, int]:
    """Regex for the integers lo..hi (inclusive, lo <= hi) without leading zeros or ``-0``; (regex, max_bytes)."""
    if lo > hi:
        raise ValueError("empty integer range")
    alts: list[str] = []
    if lo < 0:
        alts += ["-" + a for a in _nonneg_range(max(1, -hi), -lo)]
    if hi >= 0:
        alts += _nonneg_range(max(lo, 0), hi)
    return "(?:" + "|".join(alts) + ")", max(len(str(lo)), len(str(hi)))


# ------------------------------------------------------------------------------------------------ numbers


def _int_bounds(
    lo: float | None, lo_excl: bool, hi: float | None, hi_excl: bool
) -> tuple[int | None, int | None]:
    ilo = None if lo is None else (math.floor(lo) + 1 if lo_excl else math.ceil(lo))
    ihi = None if hi is None else (math.ceil(hi) - 1 if hi_excl else math.floor(hi))
    return ilo, ihi


def default_window(ilo: int | None, ihi: int | None, span: int) -> tuple[int, int]:
    """Clip an integer range with missing ends to a window of `span` around 0 (or around the given end)."""
    if ilo is None and ihi is None:
        return -span, span
    if ilo is None:
        assert ihi is not None
        return min(ihi, 0) - span, ihi
    if ihi is None:
        return ilo, max(ilo, 0) + span
    return ilo, ihi


def number_regex(
    lo: float | None,
    lo_excl: bool,
    hi: float | None,
    hi_excl: bool,
    *,
    integer: bool,
    span: int,
    frac_digits: int,
) -> tuple[str, int] | None:
    """Regex for numbers in the given bounds (a subset: integer part windowed, at most `frac_digits` decimals).

    Returns (regex, max_bytes), or None when no number in the subset satisfies the bounds.
    """
    ilo, ihi = default_window(*_int_bounds(lo, lo_excl, hi, hi_excl), span)
    alts: list[str] = []
    max_bytes = 0
    if ilo <= ihi:
        rx, nb = int_range_regex(ilo, ihi)
        alts.append(rx)
        max_bytes = nb
    if not integer and frac_digits > 0:
        frac = f"\\.[0-9]{{1,{frac_digits}}}"
        limit = 10**9 - 1  # keeps every emitted decimal exact enough for float comparison against the bounds
        # "I.F" with I >= 0: value in [I, I+1)
        p_lo = max(0, ilo)
        p_hi = min(limit, ihi if hi is None else math.floor(hi) - 1)
        if p_lo <= p_hi:
            rx, nb = int_range_regex(p_lo, p_hi)
            alts.append(rx + frac)
            max_bytes = max(max_bytes, nb + 1 + frac_digits)
        # "-J.F" with J >= 0: value in (-(J+1), -J]
        n_lo = max(0, -ihi)
        n_hi = min(limit, -ilo if lo is None else -math.ceil(lo) - 1)
        if n_lo <= n_hi:
            rx, nb = int_range_regex(n_lo, n_hi)
            alts.append("-" + rx + frac)
            max_bytes = max(max_bytes, nb + 2 + frac_digits)
    if not alts:
        return None
    return "(?:" + "|".join(alts) + ")", max_bytes


# ------------------------------------------------------------------------------------------------ formats


@dataclass(frozen=True, slots=True)
class FormatRegex:
    """A bounded regex whose every match is a valid instance of a `format` (a subset of the format)."""

    regex: str  # over the string content (no quotes, no escapes needed)
    min_len: int
    max_len: int


_DATE = r"(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,3})?(?:Z|[+\-](?:0[0-9]|1[0-2]):[0-5][0-9])"
_HOST_LABEL = r"[a-z][a-z0-9]{0,7}(?:\-[a-z0-9]{1,7})?"  # at most one hyphen: IDNA rejects "ab--c"
_URI = r"https:\/\/[a-z0-9]{1,16}\.[a-z]{2,6}(?:\/[a-zA-Z0-9_\-]{1,16}){0,3}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_EMAIL = r"[a-z0-9]{1,16}(?:\.[a-z0-9]{1,8})?@[a-z0-9]{1,16}\.[a-z]{2,6}"

#: The string formats we enforce, each as a bounded subset regex. Checked in the tests against jsonschema's
#: FormatChecker (which needs the extra packages listed in the report for date-time, time, uri, hostname...).
FORMATS: dict[str, FormatRegex] = {
    "date": FormatRegex(_DATE, 10, 10),
    "time": FormatRegex(_TIME, 9, 18),
    "date-time": FormatRegex(_DATE + "T" + _TIME, 20, 29),
    "email": FormatRegex(_EMAIL, 6, 49),
    "idn-email": FormatRegex(_EMAIL, 6, 49),
    "uuid": FormatRegex(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", 36, 36),
    "uri": FormatRegex(_URI, 12, 82),
    "iri": FormatRegex(_URI, 12, 82),
    "uri-reference": FormatRegex(_URI, 12, 82),
    "iri-reference": FormatRegex(_URI, 12, 82),
    "uri-template": FormatRegex(_URI, 12, 82),
    "hostname": FormatRegex(f"{_HOST_LABEL}(?:\\.{_HOST_LABEL}){{0,2}}", 1, 50),
    "idn-hostname": FormatRegex(f"{_HOST_LABEL}(?:\\.{_HOST_LABEL}){{0,2}}", 1, 50),
    "ipv4": FormatRegex(f"{_OCTET}(?:\\.{_OCTET}){{3}}", 7, 15),
    "ipv6": FormatRegex(r"[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}", 15, 39),
    "duration": FormatRegex(r"P(?:[1-9][0-9]{0,2}D|T[1-9][0-9]{0,2}[HMS])", 3, 6),
    "json-pointer": FormatRegex(r"(?:\/[a-z0-9]{1,8}){0,4}", 0, 36),
    # no "0" followed by a digit anywhere in the integer part: jsonschema's checker rejects e.g. "708"
    "relative-json-pointer": FormatRegex(r"(?:0|[1-9]{1,3})(?:\/[a-z0-9]{1,8}){0,3}", 1, 30),
    "regex": FormatRegex(r"[a-z]{1,16}", 1, 16),
}

#: Numeric formats (OpenAPI) enforced as ranges; None means "any number we emit fits".
NUMERIC_FORMATS: dict[str, tuple[int, int] | None] = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "float": None,
    "double": None,
}
