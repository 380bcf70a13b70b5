"""Per-type compilation (numbers, strings, arrays), methods of `Compiler` (bound in its class body).

Each method returns a `Lang` for the part of the node's language it generates, or None when that part is
empty. Caps applied are recorded through `self.cap` so `schema check` can report them.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentflow.decoding import grounded, quotes
from agentflow.decoding.grammar import Lang, json_text
from agentflow.decoding.pattern import translate_pattern
from agentflow.decoding.regexes import (
    FORMATS,
    NUMERIC_FORMATS,
    char_class,
    lit_regex,
    number_regex,
    string_regex,
)
from agentflow.decoding.schema_ops import pointer_join
from agentflow.exceptions import UnsupportedSchemaError

if TYPE_CHECKING:
    from agentflow.decoding.compile import Compiler, Ctx

__all__ = ["any_scalar", "array", "number", "string"]

_NUMERIC_KW = ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


# ------------------------------------------------------------------------------------- numbers
def number(self: Compiler, node: dict[str, Any], ptr: str, *, integer: bool) -> Lang | None:
    lim = self.limits
    lo, hi = node.get("minimum"), node.get("maximum")
    lo_x = hi_x = False
    ex_lo, ex_hi = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if self.sc.bool_exclusive:
        lo_x, hi_x = ex_lo is True and lo is not None, ex_hi is True and hi is not None
    else:
        if isinstance(ex_lo, (int, float)) and not isinstance(ex_lo, bool) and (lo is None or ex_lo >= lo):
            lo, lo_x = ex_lo, True
        if isinstance(ex_hi, (int, float)) and not isinstance(ex_hi, bool) and (hi is None or ex_hi <= hi):
            hi, hi_x = ex_hi, True
    fmt = NUMERIC_FORMATS.get(node.get("format", ""))
    if fmt is not None:
        if lo is None or lo < fmt[0]:
            lo, lo_x = fmt[0], False
        if hi is None or hi > fmt[1]:
            hi, hi_x = fmt[1], False
        integer = True
    if "multipleOf" in node:
        return self._multiples(node, ptr, lo, hi, integer)
    found = number_regex(lo, lo_x, hi, hi_x, integer=integer, span=lim.int_span, frac_digits=lim.frac_digits)
    if found is None:
        self.empty("minimum", ptr, "no number in range")
        return None
    if lo is None or hi is None:
        self.cap(ptr, f"numbers limited to |x| <= {lim.int_span} (or that far from the given bound)")
    regex, nbytes = found
    types = frozenset({"integer"} if integer else {"integer", "number"})
    return Lang(self.g.token(regex, origin=("type", ptr)), nbytes, types)


def _multiples(
    self: Compiler, node: dict[str, Any], ptr: str, lo: Any, hi: Any, integer: bool
) -> Lang | None:
    """A finite subset: multiples of `multipleOf` in range, each checked with the real validator."""
    step = Decimal(str(node["multipleOf"]))
    if step <= 0:
        raise UnsupportedSchemaError("multipleOf", ptr, "non-positive multipleOf")
    k_lo = math.ceil(Decimal(str(lo)) / step) if lo is not None else -self.limits.max_enumeration // 2
    k_hi = math.floor(Decimal(str(hi)) / step) if hi is not None else k_lo + self.limits.max_enumeration
    start = min(max(k_lo, -self.limits.max_enumeration // 2), k_hi)
    sub = {k: node[k] for k in _NUMERIC_KW if k in node}
    values: list[Any] = []
    for k in range(start, min(k_hi, start + self.limits.max_enumeration) + 1):
        d = step * k
        v: Any = int(d) if d == d.to_integral_value() else float(format(d, "f"))
        if integer and not isinstance(v, int):
            continue
        if self.sc.is_valid(v, sub) and v == v:
            values.append(v)
    self.cap(ptr, f"multipleOf: at most {self.limits.max_enumeration} multiples generated")
    if not values:
        raise UnsupportedSchemaError("multipleOf", ptr, "no multiple found that passes the validator")
    return self.literals(values)


# ------------------------------------------------------------------------------------- strings
def string(self: Compiler, node: dict[str, Any], ptr: str, ctx: Ctx) -> Lang | None:
    lim = self.limits
    if grounded.KEYWORD in node:
        lang = grounded.grounded_string(self, node, ptr)
        if lang is not None:
            return lang
        self.cap(ptr, "grounded in the conversation: an ordinary string here (not bound to a conversation)")
    if quotes.KEYWORD in node:
        lang = quotes.quoted_string(self, node, ptr)
        if lang is not None or quotes.TEXT_KEY in node:
            return lang
        self.cap(ptr, "quoted from the request: an ordinary string here (not bound to a request)")
    min_len = int(node.get("minLength", 0))
    max_len = node.get("maxLength")
    if max_len is not None and min_len > max_len:
        self.empty("minLength", ptr, "minLength > maxLength")
        return None
    fmt, pattern = node.get("format"), node.get("pattern")
    if fmt is not None and pattern is not None:
        raise UnsupportedSchemaError("pattern", ptr, "pattern together with format is not supported")
    if fmt is not None:
        spec = FORMATS.get(fmt)
        if spec is None:
            raise UnsupportedSchemaError("format", ptr, f"format {fmt!r} cannot be enforced on strings")
        if spec.min_len < min_len or (max_len is not None and spec.max_len > max_len):
            raise UnsupportedSchemaError("format", ptr, "format together with length limits")
        return Lang(
            self.g.token(f'"{spec.regex}"', origin=("format", ptr)), spec.max_len + 2, frozenset({"string"})
        )
    if pattern is not None:
        tp = translate_pattern(pattern)
        cap = min(lim.hard_cap, max_len if max_len is not None else lim.string_cap)
        lengths = tp.lengths_in(min_len, cap)
        if not lengths:
            lengths = tp.lengths_in(
                min_len, min(lim.hard_cap, max_len if max_len is not None else lim.hard_cap)
            )
            lengths = lengths[:1]
        if not lengths:
            self.empty("pattern", ptr, "no string of an allowed length matches the pattern")
            return None
        top = lengths[-1]
        if max_len is None or top < max_len:
            self.cap(ptr, f"pattern strings capped at {top} characters")
        safe = char_class(frozenset(c for c in range(0x20, 0x7F) if c not in (0x22, 0x5C)))
        sym = self.g.token(f'"(?:{tp.regex})"', f'"{safe}{{{lengths[0]},{top}}}"', origin=("pattern", ptr))
        return Lang(sym, top + 2, frozenset({"string"}))
    cap = lim.string_cap if max_len is None else min(max_len, lim.string_cap)
    cap = max(cap, min_len)
    if cap > lim.hard_cap:
        raise UnsupportedSchemaError("minLength", ptr, f"minLength above {lim.hard_cap}")
    if max_len is None or cap < max_len:
        self.cap(ptr, f"strings capped at {cap} characters")
    main, byte_cap, nbytes = string_regex(min_len, cap, escapes=lim.string_escapes)
    extra = [byte_cap] if byte_cap else []
    never: frozenset[str] = frozenset()
    origin = ("maxLength" if max_len is not None else "type", ptr)
    if ctx.exclude and cap >= 1 and len(ctx.exclude) < 90:  # >= 94 one-char strings: never empty
        never = ctx.exclude
        extra.append("~(?:" + "|".join(lit_regex(t) for t in sorted(never)) + ")")
        origin = ("not", ptr)
    return Lang(self.g.token(main, *extra, origin=origin), nbytes, frozenset({"string"}), strings_never=never)


def any_scalar(self: Compiler, ptr: str) -> Lang:
    """null | boolean | number | string: a bounded stand-in for an unconstrained value."""
    from agentflow.decoding.compile import Ctx

    lang = self._typed({}, ptr, Ctx(types=frozenset({"null", "boolean", "integer", "number", "string"})))
    assert lang is not None
    return lang


def _item(self: Compiler, schema: Any, ptr: str, ctx: Ctx) -> Lang | None:
    if schema is True or schema == {}:
        return self.any_scalar(ptr)
    return self.compile(schema, ptr, ctx.child())


# -------------------------------------------------------------------------------------- arrays
def array(self: Compiler, node: dict[str, Any], ptr: str, ctx: Ctx) -> Lang | None:
    lim = self.limits
    items = node.get("items", True)
    if self.sc.legacy:
        tuple_schemas = items if isinstance(items, list) else []
        rest = node.get("additionalItems", True) if isinstance(items, list) else items
        tuple_key, rest_key = "items", ("additionalItems" if isinstance(items, list) else "items")
    else:
        tuple_schemas, rest, tuple_key, rest_key = node.get("prefixItems", []), items, "prefixItems", "items"
    min_items = int(node.get("minItems", 0))
    max_items = node.get("maxItems")
    hi = max(min_items, lim.array_cap) if max_items is None else min(max_items, max(min_items, lim.array_cap))
    langs: list[Lang] = []
    for i, sub in enumerate(tuple_schemas[:hi]):
        lang = self._item(sub, pointer_join(ptr, tuple_key, i), ctx)
        if lang is None:
            break
        langs.append(lang)
    rest_lang = None
    if len(langs) == len(tuple_schemas) and hi > len(langs) and rest is not False:
        rest_lang = self._item(rest, pointer_join(ptr, rest_key), ctx)
    if rest_lang is None:
        hi = min(hi, len(langs))
    if min_items > hi:
        self.empty("minItems", ptr, "not enough items can be generated")
        return None
    if hi < (max_items if max_items is not None else math.inf):
        self.cap(ptr, f"arrays capped at {hi} items")
    if node.get("uniqueItems"):
        if rest_lang is not None and not tuple_schemas and rest_lang.values is not None:
            return self._unique(rest_lang, min_items, hi)
        if min_items > 1:
            raise UnsupportedSchemaError("uniqueItems", ptr, "items are not from a small finite set")
        hi = min(hi, 1)
    elems = [langs[p] if p < len(langs) else rest_lang for p in range(hi)]
    nxt = ""
    for p in range(hi - 1, 0, -1):  # C_p: after p items
        elem = elems[p]
        assert elem is not None
        alts = [f'"," {elem.sym} {nxt}'.strip()]
        if p >= min_items:
            alts.append("")
        nxt = self.g.rule(alts)
    alts = [f'"[" {elems[0].sym} {nxt} "]"'.replace("  ", " ")] if hi > 0 and elems[0] is not None else []
    if min_items == 0:
        alts.append('"[]"')
    total = 2 + sum(e.max_bytes + 1 for e in elems if e is not None)
    return Lang(self.g.rule(alts), total, frozenset({"array"}))


def _unique(self: Compiler, item: Lang, min_items: int, hi: int) -> Lang | None:
    """Arrays of distinct members of a finite item language: strictly increasing index sequences."""
    values: list[Any] = []
    for v in item.values or ():
        if not any(
            json_text(v) == json_text(w) or (v == w and type(v) is not bool and type(w) is not bool)
            for w in values
        ):
            values.append(v)
    values = values[:16]
    hi = min(hi, len(values))
    if min_items > hi:
        return None
    lits = [self.g.literal(json_text(v)) for v in values]
    memo: dict[tuple[int, int], str] = {}

    n = len(values)

    def viable(j: int, count: int) -> bool:  # after emitting value j as item number `count`
        return n - j - 1 >= min_items - count

    def after(i: int, count: int) -> str:  # after emitting value i as the count-th item
        if (i, count) not in memo:
            alts = [
                f'"," {lits[j]} {after(j, count + 1)}'
                for j in range(i + 1, n)
                if count < hi and viable(j, count + 1)
            ]
            if count >= min_items:
                alts.append("")
            memo[(i, count)] = self.g.rule(alts)
        return memo[(i, count)]

    alts = [f'"[" {lits[j]} {after(j, 1)} "]"' for j in range(n) if hi > 0 and viable(j, 1)]
    if min_items == 0:
        alts.append('"[]"')
    longest = sorted((len(json_text(v)) for v in values), reverse=True)[:hi]
    return Lang(self.g.rule(alts), 2 + sum(n + 1 for n in longest), frozenset({"array"}))
