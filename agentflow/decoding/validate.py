"""The validity oracle: strict JSON plus the original schema under its declared draft, formats checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, validators

from agentflow.formats import format_checker

__all__ = ["REQUIRED_FORMAT_CHECKERS", "Validity", "check_output", "missing_format_checkers"]

#: Formats the compiler emits; jsonschema checks some of them only with extra packages installed
#: (date-time/time: rfc3339-validator, uri*: rfc3986-validator, hostname: fqdn, duration: isoduration,
#: uri-template: uri-template, idn-hostname: idna, json-pointer: jsonpointer).
REQUIRED_FORMAT_CHECKERS = (
    "date",
    "date-time",
    "time",
    "email",
    "idn-email",
    "uuid",
    "uri",
    "uri-reference",
    "uri-template",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "duration",
    "json-pointer",
    "relative-json-pointer",
    "regex",
)


def missing_format_checkers() -> list[str]:
    """Formats for which the installed jsonschema would *not* actually check instances."""
    have = set(Draft202012Validator.FORMAT_CHECKER.checkers)
    return [f for f in REQUIRED_FORMAT_CHECKERS if f not in have]


@dataclass(frozen=True, slots=True)
class Validity:
    ok: bool
    error: str = ""
    value: Any = None


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def check_output(text: str | bytes, schema: Any) -> Validity:
    """Is `text` strict JSON (RFC 8259, no duplicate keys, no NaN/Infinity, valid UTF-8 without U+FFFD) that
    validates against `schema` with formats checked?"""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Validity(False, f"invalid UTF-8: {exc}")
    if "\ufffd" in text:
        return Validity(False, "contains U+FFFD")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return Validity(False, f"not strict JSON: {exc}")
    cls = (
        validators.validator_for(schema, default=Draft202012Validator)
        if isinstance(schema, dict)
        else Draft202012Validator
    )
    validator = cls(schema, format_checker=format_checker(cls))
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        return Validity(False, f"schema: {error.message[:200]} at {error.json_path}", value)
    return Validity(True, "", value)
