"""Keyword-level support check: walk every reachable subschema and refuse keywords we do not enforce.

This runs before compilation so that the error names the exact keyword and JSON Pointer where it sits.
"""

from __future__ import annotations

import json
from typing import Any

from agentflow.decoding.pattern import PatternError, translate_pattern
from agentflow.decoding.quotes import KEYWORD, check_quoted
from agentflow.decoding.regexes import FORMATS, NUMERIC_FORMATS
from agentflow.decoding.schema_ops import HANDLED, SchemaContext, pointer_join
from agentflow.exceptions import UnsupportedSchemaError

__all__ = ["check_keywords"]

_MAPS = ("properties", "patternProperties", "dependentSchemas")  # $defs are reached through $ref
_SINGLE = (
    "additionalProperties",
    "additionalItems",
    "propertyNames",
    "contains",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
)
# anyOf / oneOf branches are checked one by one when compiled (an unenforceable branch is left out, a subset);
# `not` subschemas are only ever *evaluated* (with the real validator), never generated from.
_LISTS = ("allOf", "prefixItems")


def _children(node: dict[str, Any], ptr: str) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = []
    for key in _MAPS:
        sub = node.get(key)
        if isinstance(sub, dict):
            out += [(v, pointer_join(ptr, key, k)) for k, v in sub.items()]
    for key in _SINGLE:
        if key in node:
            out.append((node[key], pointer_join(ptr, key)))
    for key in _LISTS:
        if isinstance(node.get(key), list):
            out += [(v, pointer_join(ptr, key, i)) for i, v in enumerate(node[key])]
    items = node.get("items")
    if isinstance(items, list):
        out += [(v, pointer_join(ptr, "items", i)) for i, v in enumerate(items)]
    elif items is not None:
        out.append((items, pointer_join(ptr, "items")))
    deps = node.get("dependencies")
    if isinstance(deps, dict):
        out += [(v, pointer_join(ptr, "dependencies", k)) for k, v in deps.items() if isinstance(v, dict)]
    return out


def check_keywords(sc: SchemaContext, node: Any = None, ptr: str = "") -> None:
    """Raise `UnsupportedSchemaError` for the first unenforceable keyword reachable from `node` (default: the
    root), not descending into anyOf/oneOf branches or `not`."""
    seen: set[str] = set()
    has_ref = '"$ref"' in json.dumps(sc.root)
    stack: list[tuple[Any, str]] = [(sc.root, "") if node is None else (node, ptr)]
    while stack:
        node, ptr = stack.pop()
        if ptr in seen or isinstance(node, bool):
            continue
        seen.add(ptr)
        if not isinstance(node, dict):
            raise UnsupportedSchemaError("schema", ptr, "not a schema object")
        if (
            has_ref
            and ptr
            and ("$id" in node or ("id" in node and isinstance(node["id"], str) and sc.legacy))
        ):
            raise UnsupportedSchemaError("$id" if "$id" in node else "id", ptr, "nested base-URI changes")
        ref_only = "$ref" in node and sc.legacy
        for key in node:
            if ref_only and key != "$ref":
                continue  # ignored by draft 4-7 validators
            if key in sc.keywords and key not in HANDLED:
                raise UnsupportedSchemaError(key, ptr, f"keyword {key!r} is not enforced by the decoder")
        if ref_only:
            target, tptr = sc.resolve_ref(node["$ref"], ptr)
            stack.append((target, tptr))
            continue
        if KEYWORD in node:
            check_quoted(node, ptr)
        fmt = node.get("format")
        if fmt is not None and "format" in sc.keywords and fmt not in FORMATS and fmt not in NUMERIC_FORMATS:
            raise UnsupportedSchemaError("format", ptr, f"unknown format {fmt!r} cannot be enforced")
        if isinstance(node.get("pattern"), str):
            try:
                translate_pattern(node["pattern"])
            except PatternError as exc:
                raise UnsupportedSchemaError("pattern", ptr, str(exc)) from None
        if "$ref" in node:
            target, tptr = sc.resolve_ref(node["$ref"], ptr)
            stack.append((target, tptr))
        stack.extend(_children(node, ptr))
