"""Conservative proofs that a compiled language shares no instance with a schema (for `oneOf` and `not`).

`provably_disjoint` answers True only when every member of the language fails the schema; False means
"could not prove it" (the compiler then restricts the language further or refuses the schema).
"""

from __future__ import annotations

from typing import Any

from agentflow.decoding.grammar import Lang, json_text
from agentflow.decoding.schema_ops import SchemaContext, schema_types

__all__ = ["forbid_candidates", "provably_disjoint"]


def provably_disjoint(sc: SchemaContext, lang: Lang, other: Any, ptr: str, _depth: int = 0) -> bool:
    """True when no member of `lang` validates against `other` (a subschema of the root)."""
    other, _ = sc.deref(other, ptr)
    if other is False:
        return True
    if other is True or not isinstance(other, dict) or _depth > 8:
        return False
    if lang.values is not None:
        return all(not sc.is_valid(v, other) for v in lang.values)
    for key in ("anyOf", "oneOf"):
        if key in other and all(provably_disjoint(sc, lang, b, ptr, _depth + 1) for b in other[key]):
            return True
    if "allOf" in other and any(provably_disjoint(sc, lang, b, ptr, _depth + 1) for b in other["allOf"]):
        return True
    if ("enum" in other or "const" in other) and lang.strings_never:
        values = other["enum"] if "enum" in other else [other["const"]]
        if all(
            not (Lang.value_types((v,)) & lang.types)
            or (isinstance(v, str) and json_text(v) in lang.strings_never)
            for v in values
        ):
            return True
    types = schema_types(other)
    if types is not None and not lang.types & types:
        return True
    if lang.types <= {"object"}:
        open_keys = "*" in lang.keys_maybe
        if any(
            (k in lang.keys_never) or (not open_keys and k not in lang.keys_maybe)
            for k in other.get("required", [])
        ):
            return True
        props = other.get("properties", {})
        if (
            other.get("additionalProperties") is False
            and "patternProperties" not in other
            and any(k not in props for k in lang.keys_always)
        ):
            return True
        for key, values in lang.keys_always.items():
            if values is not None and key in props and all(not sc.is_valid(v, props[key]) for v in values):
                return True
    return False


def forbid_candidates(sc: SchemaContext, other: Any, required_here: set[str], ptr: str) -> list[str]:
    """Keys whose absence would make an object fail `other` (its required keys we are free to omit)."""
    other, _ = sc.deref(other, ptr)
    if not isinstance(other, dict):
        return []
    return [k for k in other.get("required", []) if k not in required_here]
