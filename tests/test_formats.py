"""IRI format checks without rfc3987_syntax, and importing the validators without paying for it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from agentflow.formats import format_checker


@pytest.mark.parametrize(
    ("fmt", "value", "valid"),
    [
        ("iri", "http://例え.jp/パス?q=ü", True),
        ("iri", "urn:isbn:0451450523", True),
        ("iri", "no scheme, with spaces", False),
        ("iri", "http://example.com/a\u200eb", False),  # a bidi mark may not appear in an IRI
        ("iri", "http://example.com/%zz", False),
        ("iri-reference", "../ordner/datei.txt", True),
        ("iri-reference", "#frägment", True),
        ("iri-reference", "a b", False),
        ("iri", 42, True),  # formats apply to strings only
    ],
)
def test_iris_are_checked_as_rfc_3987_maps_them_to_uris(fmt: str, value: object, valid: bool) -> None:
    """`iri` and `iri-reference` values are checked (percent-encoded to a URI, then RFC 3986)."""
    for cls in (Draft7Validator, Draft202012Validator):
        validator = cls({"format": fmt}, format_checker=format_checker(cls))
        assert validator.is_valid(value) is valid


def test_the_other_formats_are_jsonschemas_own() -> None:
    """Every format checker jsonschema has is kept (the IRI ones only added)."""
    checker = format_checker(Draft202012Validator)
    assert set(Draft202012Validator.FORMAT_CHECKER.checkers) <= set(checker.checkers)
    assert {"iri", "iri-reference", "date-time", "uri", "hostname"} <= set(checker.checkers)


def test_validating_tool_arguments_does_not_import_rfc3987_syntax() -> None:
    """The slow grammar package is neither installed by agentflow nor imported by its validators."""
    code = (
        "import sys, agentflow.decoding, agentflow.models.output_check, agentflow.tooling.tool;"
        "print('rfc3987_syntax' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
