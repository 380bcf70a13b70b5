"""JSON Schema format checkers, with IRIs checked without paying for `rfc3987_syntax` at import.

jsonschema checks `iri` / `iri-reference` only when `rfc3987_syntax` is installed, and that package builds
dozens of Lark grammars when imported (1-4 s, on every process that imports jsonschema). agentflow does not
depend on it: `format_checker(cls)` is `cls.FORMAT_CHECKER` plus IRI checkers that map an IRI to a URI as
RFC 3987 section 3.1 says (percent-encode the UTF-8 of every non-ASCII character) and check that URI with
`rfc3986_validator`, which jsonschema already uses for `uri`. These replace jsonschema's own IRI checkers
when the package happens to be installed, so IRIs are judged the same way everywhere.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

__all__ = ["format_checker"]

_ASCII = "".join(chr(c) for c in range(128))  # left as they are; the URI grammar judges them


def _as_uri(value: str) -> str:
    """RFC 3987 3.1: an IRI's characters outside ASCII, percent-encoded as UTF-8."""
    return quote(value, safe=_ASCII)


def _bidi_or_control(value: str) -> bool:
    """Characters an IRI may never contain (RFC 3987 section 4.1 and `ucschar`): bidi formatting characters,
    non-characters, surrogates and C1 controls."""
    for char in value:
        code = ord(char)
        if 0x80 <= code <= 0x9F or 0x200E <= code <= 0x200F or 0x202A <= code <= 0x202E:
            return True
        if 0xD800 <= code <= 0xDFFF or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            return True
    return False


def _check(rule: str, value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats apply to strings only
    if _bidi_or_control(value):
        return False
    from rfc3986_validator import validate_rfc3986

    return bool(validate_rfc3986(_as_uri(value), rule=rule))


@functools.cache
def format_checker(cls: Any) -> Any:
    """`cls.FORMAT_CHECKER` (a jsonschema validator class's), with `iri` and `iri-reference` checked."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)
    checker.checks("iri")(functools.partial(_check, "URI"))
    checker.checks("iri-reference")(functools.partial(_check, "URI_reference"))
    return checker
