"""Object compilation, methods of `Compiler` (bound in its class body): declared properties in order, required ones always, optional ones
at the model's choice; map-like objects get a few entries whose keys are distinct by construction."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agentflow.decoding.grammar import Lang, json_text
from agentflow.decoding.regexes import char_class, lit_regex
from agentflow.decoding.schema_ops import pointer_join
from agentflow.exceptions import UnsupportedSchemaError

if TYPE_CHECKING:
    from agentflow.decoding.compile import Compiler, Ctx

__all__ = ["compile_object"]

_KEY_TAIL = frozenset([*range(0x30, 0x3A), *range(0x41, 0x5B), *range(0x61, 0x7B), 0x5F])
_LETTERS = list(range(0x61, 0x7B))


def _value_schema(self: Compiler, node: dict[str, Any], key: str, ptr: str) -> tuple[Any, str]:
    """The schema a value under `key` must satisfy (properties, patternProperties, additionalProperties)."""
    props = node.get("properties", {})
    parts: list[Any] = [props[key]] if key in props else []
    where = (
        pointer_join(ptr, "properties", key) if key in props else pointer_join(ptr, "additionalProperties")
    )
    for pat, sub in node.get("patternProperties", {}).items():
        try:
            hit = re.search(pat, key) is not None
        except re.error:
            raise UnsupportedSchemaError("patternProperties", ptr, f"invalid regex {pat!r}") from None
        if hit:
            parts.append(sub)
    if key not in props and len(parts) == 0:
        addl = node.get("additionalProperties", True)
        if addl is False:
            return False, where
        parts.append(addl)
    return (parts[0] if len(parts) == 1 else {"allOf": parts}), where


def compile_object(self: Compiler, node: dict[str, Any], ptr: str, ctx: Ctx) -> Lang | None:
    props: dict[str, Any] = node.get("properties", {})
    required = list(dict.fromkeys(node.get("required", [])))
    keys = list(props) + [k for k in required if k not in props]
    names = node.get("propertyNames")
    banned = set(ctx.forbid)
    for key in keys:
        if (names is not None and not self.sc.is_valid(key, names)) or self._value_schema(node, key, ptr)[
            0
        ] is False:
            banned.add(key)
    req = set(required)
    deps: dict[str, Any] = {**node.get("dependencies", {}), **node.get("dependentRequired", {})}
    for key, dep in node.get("dependentSchemas", {}).items():
        deps[key] = dep
    changed = True
    while changed:
        changed = False
        for key, dep in deps.items():
            if key not in keys or key in banned:
                continue
            if isinstance(dep, list):
                missing = [d for d in dep if d not in req]
                if not missing:
                    continue
                if all(
                    d not in banned and (d in keys or self._value_schema(node, d, ptr)[0] is not False)
                    for d in missing
                ):
                    req.update(missing)  # include the dependencies (whenever `key` may appear)
                    keys += [d for d in missing if d not in keys]
                elif key in req:
                    return self._none("dependencies", ptr, f"dependencies of {key!r} cannot be met")
                else:
                    banned.add(key)
                changed = True
            elif key in req:
                merged = self.sc.merge(
                    [{k: v for k, v in node.items() if k not in ("dependencies", "dependentSchemas")}, dep],
                    ptr,
                )
                if merged is False:
                    return self._none("dependentSchemas", ptr, "dependency schema contradicts")
                return self.compile(merged, ptr, ctx)
            else:
                banned.add(key)
                changed = True
    if req & banned:
        return self._none("required", ptr, f"required {sorted(req & banned)} cannot be generated")
    gen = [k for k in keys if k not in banned]
    optional = [k for k in gen if k not in req]
    max_p, min_p = node.get("maxProperties"), int(node.get("minProperties", 0))
    if max_p is not None:
        if len(req) > max_p:
            return self._none("maxProperties", ptr, "more required properties than maxProperties")
        if len(optional) > max_p - len(req):
            optional = optional[: max_p - len(req)]
            self.cap(ptr, f"at most {max_p} properties generated")
    if min_p > len(req) and gen:
        req.update(optional[: min_p - len(req)])
    entries: list[tuple[str, Lang, bool]] = []
    for key in gen:
        if key not in req and key not in optional:
            continue
        schema, where = self._value_schema(node, key, ptr)
        lang = self._item(schema, where, ctx)
        if lang is None:
            if key in req:
                return None
            continue
        entries.append((key, lang, key in req))
    if (
        not props
        and not required
        and node.get("additionalProperties", True) is not False
        and "patternProperties" not in node
        and names is None
    ):
        return self._map(node, ptr, ctx, min_p, max_p)
    if min_p > len(req):
        return self._none("minProperties", ptr, "not enough properties can be generated")
    return self._chain(entries)


def _none(self: Compiler, keyword: str, ptr: str, reason: str) -> None:
    self.empty(keyword, ptr, reason)
    return None


def _chain(self: Compiler, entries: list[tuple[str, Lang, bool]]) -> Lang:
    """`{` entries `}` with optional entries skippable and commas only between emitted entries."""
    first, more = "", ""  # rules for "nothing emitted yet" / "something emitted" from position i on
    for key, lang, req in reversed(entries):
        lit = self.g.literal(json_text(key) + ":")
        a_alts = [f"{lit} {lang.sym} {more}".strip()] + ([first] if not req else [])
        b_alts = [f'"," {lit} {lang.sym} {more}'.strip()] + ([more] if not req else [])
        first = self.g.rule(a_alts)
        more = self.g.rule(b_alts)
    sym = self.g.rule([f'"{{" {first} "}}"'.replace("  ", " ") if entries else '"{}"'])
    total = 2 + sum(len(json_text(k)) + 2 + lang.max_bytes for k, lang, _ in entries)
    always = {
        k: (lang.values if lang.values is not None and len(lang.values) <= 64 else None)
        for k, lang, req in entries
        if req
    }
    return Lang(sym, total, frozenset({"object"}), None, always, frozenset(k for k, _, _ in entries))


def _map(self: Compiler, node: dict[str, Any], ptr: str, ctx: Ctx, min_p: int, max_p: Any) -> Lang | None:
    """Map-like object: up to `dict_cap` entries; entry i's key starts with a letter from group i, so keys
    are distinct without the grammar having to remember them."""
    lim = self.limits
    count = max(min_p, lim.dict_cap if max_p is None else min(max_p, lim.dict_cap))
    if count > len(_LETTERS):
        raise UnsupportedSchemaError("minProperties", ptr, "too many map entries required")
    if count < (max_p if max_p is not None else float("inf")):
        self.cap(ptr, f"maps capped at {count} entries")
    addl = node.get("additionalProperties", True)
    value = self._item(addl, pointer_join(ptr, "additionalProperties"), ctx) if count else None
    if value is None:
        if min_p > 0:
            return self._none("additionalProperties", ptr, "no value can be generated")
        count = 0
    groups = [_LETTERS[i * len(_LETTERS) // count : (i + 1) * len(_LETTERS) // count] for i in range(count)]
    tail = char_class(_KEY_TAIL)
    never = sorted(ctx.forbid)
    excl = [f"~(?:{'|'.join(lit_regex(json_text(k) + ':') for k in never)})"] if never else []
    keys = [
        self.g.token(
            f'"{char_class(frozenset(grp))}{tail}{{0,{lim.key_cap - 1}}}":',
            *excl,
            origin=("not" if excl else "additionalProperties", ptr),
        )
        for grp in groups
    ]
    nxt = ""
    for i in range(count - 1, 0, -1):
        alts = [f'"," {keys[i]} {value.sym} {nxt}'.strip()] if value else []
        if i >= min_p:
            alts.append("")
        nxt = self.g.rule(alts)
    alts = [f'"{{" {keys[0]} {value.sym} {nxt} "}}"'.replace("  ", " ")] if count and value else []
    if min_p == 0:
        alts.append('"{}"')
    entry = lim.key_cap + 4 + (value.max_bytes if value else 0)
    return Lang(
        self.g.rule(alts),
        2 + count * entry,
        frozenset({"object"}),
        None,
        {},
        frozenset({"*"}),
        frozenset(never),
    )
