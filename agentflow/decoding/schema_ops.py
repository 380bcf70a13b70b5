"""Schema plumbing for the compiler: draft detection, local `$ref` resolution, `allOf` merging, validation of
finite candidate values against subschemas with the real validator."""

from __future__ import annotations

import json
import math
from typing import Any

from jsonschema import validators
from jsonschema.validators import Draft3Validator, Draft4Validator, Draft6Validator, Draft7Validator

from agentflow.exceptions import UnsupportedSchemaError
from agentflow.formats import format_checker

__all__ = ["ANNOTATIONS", "HANDLED", "SchemaContext", "pointer_join", "schema_types"]

#: Assertion keywords the compiler enforces (or proves vacuous). Any other keyword the declared draft's
#: validator implements makes a schema unsupported.
HANDLED = frozenset(
    {
        "$ref",
        "additionalItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "patternProperties",
        "prefixItems",
        "properties",
        "propertyNames",
        "required",
        "type",
        "uniqueItems",
        "x-agentflow-quoted",  # decoding.quotes: strings copied verbatim from the request
        "__quoted_text__",
        "x-agentflow-grounded",  # decoding.grounded: answers whose numbers are copied from the conversation
        "__grounded_sources__",
        "__grounded_words__",
    }
)
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "$schema",
        "$id",
        "id",
        "definitions",
        "$defs",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$anchor",
    }
)
_LOWER = ("minimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "maxLength", "maxItems", "maxProperties")
_OBJECT_KW = {
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
}
_ARRAY_KW = {"items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems"}
_STRING_KW = {"minLength", "maxLength", "pattern", "format"}
_NUMBER_KW = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}


def pointer_join(ptr: str, *parts: str | int) -> str:
    for part in parts:
        ptr += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return ptr


def schema_types(node: dict[str, Any]) -> frozenset[str] | None:
    """Types the schema's own keywords imply (integer/number split as in `Lang`); None = unconstrained."""
    t = node.get("type")
    if t is not None:
        names = {t} if isinstance(t, str) else set(t)
        if "number" in names:
            names.add("integer")
        return frozenset(names)
    for key in ("const", "enum"):
        if key in node:
            from agentflow.decoding.grammar import Lang

            return Lang.value_types((node["const"],) if key == "const" else tuple(node["enum"]))
    return None


def implied_types(node: dict[str, Any]) -> frozenset[str]:
    """Types to *generate* for a typeless schema: those its keywords talk about (all when none do)."""
    out: set[str] = set()
    keys = set(node)
    if keys & _OBJECT_KW:
        out.add("object")
    if keys & _ARRAY_KW:
        out.add("array")
    if keys & _STRING_KW:
        out.add("string")
    if keys & _NUMBER_KW:
        out |= {"integer", "number"}
    from agentflow.decoding.grammar import ALL_TYPES

    return frozenset(out) or ALL_TYPES


class SchemaContext:
    """The root schema, its draft, and helpers that need both."""

    def __init__(self, root: Any) -> None:
        self.root = root
        from jsonschema import Draft202012Validator

        self.cls = (
            validators.validator_for(root, default=Draft202012Validator)
            if isinstance(root, dict)
            else Draft202012Validator
        )
        if self.cls is Draft3Validator:
            raise UnsupportedSchemaError("$schema", "", "draft 3 is not supported")
        self.legacy = self.cls in (Draft4Validator, Draft6Validator, Draft7Validator)
        self.bool_exclusive = self.cls is Draft4Validator
        self.keywords = frozenset(self.cls.VALIDATORS)
        self._validator = self.cls(
            root if isinstance(root, (dict, bool)) else {}, format_checker=format_checker(self.cls)
        )
        self._root_id = root.get("$id", root.get("id")) if isinstance(root, dict) else None

    # ------------------------------------------------------------------------------------------ refs
    def resolve_ref(self, ref: str, ptr: str) -> tuple[Any, str]:
        """The target of a local `$ref` and its JSON Pointer; unsupported for anything non-local."""
        if isinstance(self._root_id, str) and ref.startswith(self._root_id.rstrip("#")):
            ref = ref[len(self._root_id.rstrip("#")) :]
        if not ref.startswith("#") or (len(ref) > 1 and not ref.startswith("#/")):
            raise UnsupportedSchemaError(
                "$ref", ptr, f"only local JSON-pointer references are supported: {ref!r}"
            )
        node: Any = self.root
        target = ref[1:]
        from urllib.parse import unquote

        for raw in [p for p in target.split("/")[1:]]:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise UnsupportedSchemaError("$ref", ptr, f"unresolvable reference {ref!r}")
        return node, target

    def deref(self, node: Any, ptr: str) -> tuple[Any, str]:
        """Follow `$ref`s at the top of `node` (merging 2019+ siblings), up to 32 hops."""
        for _ in range(32):
            if not isinstance(node, dict) or "$ref" not in node:
                return node, ptr
            target, tptr = self.resolve_ref(node["$ref"], ptr)
            rest = {k: v for k, v in node.items() if k != "$ref" and k not in ANNOTATIONS}
            if self.legacy or not rest:
                node, ptr = target, tptr
            else:
                node = self.merge([rest, target], ptr)
        raise UnsupportedSchemaError("$ref", ptr, "reference chain too long or cyclic")

    # ------------------------------------------------------------------------------------- validation
    def is_valid(self, instance: Any, schema: Any) -> bool:
        """Validate `instance` against a subschema of the root (refs resolve against the root)."""
        return bool(self._validator.evolve(schema=schema).is_valid(instance))

    # ------------------------------------------------------------------------------------------ merge
    def merge(self, parts: list[Any], ptr: str) -> Any:
        """The intersection of several schemas as one schema (`allOf` flattening); False when empty."""
        flat: list[dict[str, Any]] = []
        stack = list(parts)
        while stack:
            part, _ = self.deref(stack.pop(0), ptr)
            if part is True:
                continue
            if part is False:
                return False
            if not isinstance(part, dict):
                raise UnsupportedSchemaError("allOf", ptr, "non-schema in allOf")
            part = dict(part)
            stack.extend(part.pop("allOf", []))
            flat.append(part)
        out: dict[str, Any] = {}
        for part in flat:
            out = self._merge2(out, part, ptr)
            if out is False:
                return False
        return out

    def _merge2(self, a: dict[str, Any], b: dict[str, Any], ptr: str) -> Any:
        out = {k: v for k, v in a.items()}
        for key, bv in b.items():
            if key in ANNOTATIONS or (key not in self.keywords and key not in HANDLED and key != "__not__"):
                continue
            if key not in out:
                out[key] = bv
                continue
            av = out[key]
            if av == bv and key not in ("properties",):
                continue
            if key == "type":
                ta = {av} if isinstance(av, str) else set(av)
                tb = {bv} if isinstance(bv, str) else set(bv)
                both = ta & tb
                if ("integer" in ta and "number" in tb) or ("number" in ta and "integer" in tb):
                    both.add("integer")
                if not both:
                    return False
                out[key] = sorted(both)
            elif key == "enum":
                keep = [v for v in av if any(_same(v, w) for w in bv)]
                if not keep:
                    return False
                out[key] = keep
            elif key == "const":
                if not _same(av, bv):
                    return False
            elif key in _LOWER:
                out[key] = max(av, bv)
            elif key in _UPPER:
                out[key] = min(av, bv)
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and not self.bool_exclusive:
                out[key] = max(av, bv) if key == "exclusiveMinimum" else min(av, bv)
            elif key == "required":
                out[key] = list(dict.fromkeys([*av, *bv]))
            elif key == "uniqueItems":
                out[key] = bool(av or bv)
            elif key == "multipleOf" and float(av).is_integer() and float(bv).is_integer():
                out[key] = math.lcm(int(av), int(bv))
            elif (
                key in ("items", "additionalProperties", "propertyNames", "additionalItems")
                and not isinstance(av, list)
                and not isinstance(bv, list)
            ):
                out[key] = {"allOf": [av, bv]}
            elif key == "properties":
                props = dict(av)
                for name, sub in bv.items():
                    props[name] = {"allOf": [props[name], sub]} if name in props else sub
                out[key] = props
            elif key in ("dependencies", "dependentRequired", "dependentSchemas"):
                deps = dict(av)
                for name, dep in bv.items():
                    if name not in deps:
                        deps[name] = dep
                    elif isinstance(dep, list) and isinstance(deps[name], list):
                        deps[name] = list(dict.fromkeys([*deps[name], *dep]))
                    else:
                        raise UnsupportedSchemaError(key, ptr, "cannot merge dependencies in allOf")
                out[key] = deps
            elif key == "anyOf":
                if len(av) * len(bv) > 64:
                    raise UnsupportedSchemaError("anyOf", ptr, "too many anyOf combinations in allOf")
                out[key] = [{"allOf": [x, y]} for x in av for y in bv]
            elif key == "__not__":
                out[key] = [*av, *bv]
            else:
                raise UnsupportedSchemaError(key, ptr, f"cannot combine two {key!r} keywords (allOf)")
        if "not" in out:
            out["__not__"] = [*out.get("__not__", []), out.pop("not")]
        return self._fix_additional(out, a, b, ptr)

    def _fix_additional(self, out: dict[str, Any], a: dict[str, Any], b: dict[str, Any], ptr: str) -> Any:
        """Apply each side's additionalProperties to the properties only the other side declares."""
        for this, other in ((a, b), (b, a)):
            extra = [k for k in other.get("properties", {}) if k not in this.get("properties", {})]
            if not extra or "additionalProperties" not in this:
                continue
            if "patternProperties" in this:
                raise UnsupportedSchemaError("patternProperties", ptr, "patternProperties inside allOf")
            addl = this["additionalProperties"]
            props = dict(out["properties"])
            for k in extra:
                if addl is False:
                    if k in out.get("required", []):
                        return False
                    del props[k]
                elif addl is not True:
                    props[k] = {"allOf": [props[k], addl]}
            out["properties"] = props
        return out


def _same(x: Any, y: Any) -> bool:
    return (json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True) and type(x) is type(y)) or (
        isinstance(x, (int, float))
        and isinstance(y, (int, float))
        and not isinstance(x, bool)
        and not isinstance(y, bool)
        and x == y
    )
