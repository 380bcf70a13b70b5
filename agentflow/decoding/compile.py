"""Compile a JSON Schema into a bounded llguidance Lark grammar and a maximum output length.

Every construct in the grammar is bounded (compact JSON, capped strings / numbers / arrays / recursion), and
every string the grammar accepts is valid against the *original* schema: where the schema allows more than
we generate (long strings, big numbers, extra properties) we generate a non-empty subset; where we cannot
prove validity (unknown keywords and formats, untranslatable patterns, overlapping `oneOf` branches, ...)
we raise `UnsupportedSchemaError` naming the keyword and its JSON Pointer.

    compiled = compile_schema(schema)            # -> CompiledSchema
    compiled.lark                                # grammar text for llguidance.LLMatcher
    compiled.grammar                             # the same grammar, structured (for the other mask engines)
    compiled.max_bytes                           # longest accepted output, in bytes
    compiled.min_max_tokens                      # max_tokens that guarantees completion (bytes + eos)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from agentflow.decoding import objects, values
from agentflow.decoding.disjoint import forbid_candidates, provably_disjoint
from agentflow.decoding.grammar import ALL_TYPES, Grammar, GrammarIR, Lang, json_text
from agentflow.decoding.prepass import check_keywords
from agentflow.decoding.schema_ops import SchemaContext, implied_types, pointer_join, schema_types
from agentflow.exceptions import UnsupportedSchemaError

__all__ = ["CompiledSchema", "Limits", "compile_schema"]

_COMBINATORS = ("allOf", "anyOf", "oneOf", "not", "__not__", "$ref")


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that make every derivation finite. Raising them widens what is generated and the bound."""

    string_cap: int = 64  # characters of a string without a smaller maxLength
    array_cap: int = 4  # items of an array without a smaller maxItems
    dict_cap: int = 3  # entries of a map-like object (no declared properties)
    key_cap: int = 16  # characters of a generated map key
    int_span: int = 10**9 - 1  # integers without bounds are drawn from [-int_span, int_span]
    frac_digits: int = 4  # decimals of a non-integer number
    ref_depth: int = 3  # expansions of one `$ref` along a path (recursion depth)
    string_escapes: bool = True  # allow \" \\ \n \t in free strings
    hard_cap: int = (
        200  # no string/array is ever forced longer than this (llguidance lexer limits above ~250)
    )
    max_enumeration: int = 64  # candidates tried for multipleOf
    max_grammar_rules: int = 50_000

    def key(self) -> str:
        return json.dumps([getattr(self, f) for f in self.__dataclass_fields__])


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A compiled schema: grammar text, the output-length bound, and what was capped. `grammar` is the same
    grammar in structured form, which the mask engines emit their own syntax from (`decoding.engines`)."""

    lark: str
    max_bytes: int
    limits: Limits
    draft: str
    caps: tuple[str, ...] = ()
    grammar: GrammarIR | None = field(default=None, compare=False, repr=False)
    #: the grammar with the text of quoted strings left out: grammars of one schema bound to different
    #: requests share it (what `auto` caches its engine choice under); equals `lark` when nothing is quoted
    family: str = field(default="", compare=False, repr=False)

    @property
    def per_request(self) -> bool:
        """Does the grammar hold request text (quoted strings), so that each new request compiles anew?"""
        return bool(self.family) and self.family != self.lark

    @property
    def min_max_tokens(self) -> int:
        """Smallest `max_tokens` that guarantees a complete output with a tokenizer whose every non-special
        token is at least one byte: each token adds >= 1 byte, plus one eos token."""
        return self.max_bytes + 1

    @property
    def ir(self) -> GrammarIR:
        """The structured grammar (every schema `compile_schema` returns has one)."""
        if self.grammar is None:
            from agentflow.exceptions import DecodingInvariantError

            raise DecodingInvariantError("this compiled schema carries no structured grammar")
        return self.grammar


@dataclass(frozen=True, slots=True)
class Ctx:
    """Per-node compilation context: `$ref` expansion counts and restrictions on this node only."""

    refs: tuple[tuple[str, int], ...] = ()
    forbid: frozenset[str] = frozenset()
    types: frozenset[str] = ALL_TYPES
    exclude: frozenset[str] = frozenset()  # JSON texts of strings not to generate

    def child(self) -> Ctx:
        return Ctx(refs=self.refs)


@dataclass
class Compiler:
    sc: SchemaContext
    limits: Limits
    g: Grammar = field(default_factory=Grammar)
    caps: list[str] = field(default_factory=list)
    empty_reason: tuple[str, str, str] | None = None
    _memo: dict[tuple[str, Ctx], Lang | None] = field(default_factory=dict)

    # per-type compilation lives in values.py (numbers, strings, arrays) and objects.py (objects)
    number = values.number
    _multiples = values._multiples
    string = values.string
    any_scalar = values.any_scalar
    _item = values._item
    array = values.array
    _unique = values._unique
    object = objects.compile_object
    _value_schema = objects._value_schema
    _none = objects._none
    _chain = objects._chain
    _map = objects._map

    # ------------------------------------------------------------------------------------- helpers
    def empty(self, keyword: str, ptr: str, reason: str) -> None:
        """Record why a sub-language is empty (reported if the whole schema ends up empty)."""
        self.empty_reason = (keyword, ptr, reason)

    def cap(self, ptr: str, what: str) -> None:
        note = f"{ptr or '/'}: {what}"
        if note not in self.caps:
            self.caps.append(note)

    def union(self, langs: list[Lang]) -> Lang | None:
        if not langs:
            return None
        if len(langs) == 1:
            return langs[0]
        values: tuple[Any, ...] | None = ()
        for lang in langs:
            values = None if values is None or lang.values is None else values + lang.values
        types = frozenset().union(*(lang.types for lang in langs))
        keys_always: dict[str, tuple[Any, ...] | None] = {}
        if types <= {"object"}:
            common = set.intersection(*(set(lang.keys_always) for lang in langs))
            for key in common:
                vals: tuple[Any, ...] | None = ()
                for lang in langs:
                    v = lang.keys_always[key]
                    vals = None if vals is None or v is None else vals + v
                keys_always[key] = vals
        return Lang(
            self.g.rule([lang.sym for lang in langs]),
            max(lang.max_bytes for lang in langs),
            types,
            values,
            keys_always,
            frozenset().union(*(lang.keys_maybe for lang in langs)),
        )

    def literals(self, values: list[Any]) -> Lang | None:
        texts: list[str] = []
        kept: list[Any] = []
        for v in values:
            try:
                text = json_text(v)
            except ValueError:
                continue
            if text not in texts:
                texts.append(text)
                kept.append(v)
        if not texts:
            return None
        sym = self.g.rule([self.g.literal(t) for t in texts])
        return Lang(sym, max(len(t) for t in texts), Lang.value_types(tuple(kept)), tuple(kept))

    # ------------------------------------------------------------------------------------ dispatch
    def compile(self, node: Any, ptr: str, ctx: Ctx) -> Lang | None:
        """The language of `node` (at JSON Pointer `ptr`), or None when we generate nothing for it."""
        if node is True:
            node = {}
        if node is False:
            self.empty("false", ptr, "schema is false")
            return None
        if not isinstance(node, dict):
            raise UnsupportedSchemaError("schema", ptr, "not a schema object")
        key = (json.dumps(node, sort_keys=True) + "@" + ptr, ctx)
        if key in self._memo:
            return self._memo[key]
        if self.g.size > self.limits.max_grammar_rules:
            raise UnsupportedSchemaError("schema", ptr, "grammar too large")
        lang = self._compile(node, ptr, ctx)
        self._memo[key] = lang
        return lang

    def _compile(self, node: dict[str, Any], ptr: str, ctx: Ctx) -> Lang | None:
        if "$ref" in node:
            ref = node["$ref"]
            counts = dict(ctx.refs)
            if counts.get(ref, 0) >= self.limits.ref_depth:
                self.empty("$ref", ptr, f"recursion deeper than {self.limits.ref_depth}")
                return None
            counts[ref] = counts.get(ref, 0) + 1
            ctx = replace(ctx, refs=tuple(sorted(counts.items())))
            target, tptr = self.sc.resolve_ref(ref, ptr)
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if self.sc.legacy or not any(k in self.sc.keywords or k == "__not__" for k in rest):
                return self.compile(target, tptr, ctx)
            merged = self.sc.merge([rest, target], ptr)
            return self.compile(merged, ptr, ctx)
        if "allOf" in node:
            rest = {k: v for k, v in node.items() if k != "allOf"}
            merged = self.sc.merge([rest, *node["allOf"]], ptr)
            if merged is False:
                self.empty("allOf", ptr, "allOf branches contradict each other")
                return None
            return self.compile(merged, ptr, ctx)
        if "anyOf" in node:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            langs: list[Lang] = []
            errors: list[UnsupportedSchemaError] = []
            for i, branch in enumerate(node["anyOf"]):
                lang = self._branch(rest, branch, pointer_join(ptr, "anyOf", i), ctx, errors, None)
                if lang is not None:
                    langs.append(lang)
            return self._alternatives(langs, errors)
        if "oneOf" in node:
            return self._one_of(node, ptr, ctx)
        if "not" in node or "__not__" in node:
            nots = [*node.get("__not__", []), *([node["not"]] if "not" in node else [])]
            rest = {k: v for k, v in node.items() if k not in ("not", "__not__")}
            return self._disjoint(rest, nots, pointer_join(ptr, "not"), ctx, "not")
        return self._typed(node, ptr, ctx)

    def _one_of(self, node: dict[str, Any], ptr: str, ctx: Ctx) -> Lang | None:
        rest = {k: v for k, v in node.items() if k != "oneOf"}
        branches = node["oneOf"]
        langs: list[Lang] = []
        errors: list[UnsupportedSchemaError] = []
        for i, branch in enumerate(branches):
            others = [b for j, b in enumerate(branches) if j != i]
            lang = self._branch(rest, branch, pointer_join(ptr, "oneOf", i), ctx, errors, others)
            if lang is not None:
                langs.append(lang)
        return self._alternatives(langs, errors)

    def _branch(
        self,
        rest: dict[str, Any],
        branch: Any,
        ptr: str,
        ctx: Ctx,
        errors: list[UnsupportedSchemaError],
        others: list[Any] | None,
    ) -> Lang | None:
        """One anyOf/oneOf branch merged with its siblings; an unenforceable branch is left out (recorded)."""
        try:
            check_keywords(self.sc, branch, ptr)
            merged = self.sc.merge([rest, branch], ptr)
            if merged is False:
                return None
            if others is None:
                return self.compile(merged, ptr, ctx)
            return self._disjoint(merged, others, ptr, ctx, "oneOf")
        except UnsupportedSchemaError as exc:
            errors.append(exc)
            self.cap(ptr, f"branch not generated ({exc.keyword}: {exc.reason})")
            return None

    def _alternatives(self, langs: list[Lang], errors: list[UnsupportedSchemaError]) -> Lang | None:
        if not langs and errors:
            raise errors[0]
        return self.union(langs)

    def _disjoint(self, node: Any, others: list[Any], ptr: str, ctx: Ctx, keyword: str) -> Lang | None:
        """Compile `node` restricted so that no member validates against any schema in `others`."""
        required = set(node.get("required", [])) if isinstance(node, dict) else set()
        lang = self.compile(node, ptr, ctx)
        if lang is None:
            return None
        pending = [o for o in others if not provably_disjoint(self.sc, lang, o, ptr)]
        if not pending:
            return lang
        # 1. omit a key each other schema requires; 2. drop the types the other schemas allow
        forbid = set(ctx.forbid)
        for other in pending:
            forbid.update(forbid_candidates(self.sc, other, required, ptr)[:1])
        types = set(ctx.types)
        for other in pending:
            t = (
                schema_types(self.sc.deref(other, ptr)[0])
                if isinstance(self.sc.deref(other, ptr)[0], dict)
                else None
            )
            if t is not None and types - t:
                types -= t
        # 3. leave out the strings another schema enumerates
        exclude = set(ctx.exclude)
        for other in pending:
            target = self.sc.deref(other, ptr)[0]
            if isinstance(target, dict) and ("enum" in target or "const" in target):
                values = target["enum"] if "enum" in target else [target["const"]]
                exclude.update(json_text(v) for v in values if isinstance(v, str))
        attempts = [
            replace(ctx, forbid=frozenset(forbid)),
            replace(ctx, types=frozenset(types)),
            replace(ctx, forbid=frozenset(forbid), types=frozenset(types)),
            replace(ctx, exclude=frozenset(exclude)),
        ]
        for attempt in attempts:
            if attempt == ctx:
                continue
            lang = self.compile(node, ptr, attempt)
            if lang is None:
                continue
            if all(provably_disjoint(self.sc, lang, o, ptr) for o in others):
                return lang
        raise UnsupportedSchemaError(
            keyword,
            ptr,
            "cannot prove that generated values fail the other "
            f"{'branches' if keyword == 'oneOf' else 'schema'}",
        )

    def _typed(self, node: dict[str, Any], ptr: str, ctx: Ctx) -> Lang | None:
        declared = schema_types(node) if "type" in node else None
        types = (declared if declared is not None else implied_types(node)) & ctx.types
        if "const" in node or "enum" in node:
            values = [node["const"]] if "const" in node else list(node["enum"])
            if "const" in node and "enum" in node:
                values = [v for v in node["enum"] if self.sc.is_valid(v, {"const": node["const"]})]
            kept = [v for v in values if Lang.value_types((v,)) & types and self.sc.is_valid(v, node)]
            if not kept:
                self.empty("enum" if "enum" in node else "const", ptr, "no allowed value")
            return self.literals(kept)
        langs: list[Lang] = []
        if "null" in types:
            langs.append(Lang(self.g.literal("null"), 4, frozenset({"null"}), (None,)))
        if "boolean" in types:
            langs.append(
                Lang(
                    self.g.rule([self.g.literal("true"), self.g.literal("false")]),
                    5,
                    frozenset({"boolean"}),
                    (True, False),
                )
            )
        if "number" in types or "integer" in types:
            lang = self.number(node, ptr, integer="number" not in types)
            if lang is not None:
                langs.append(lang)
        for name, fn in (("string", self.string), ("array", self.array), ("object", self.object)):
            if name in types:
                lang = fn(node, ptr, ctx)
                if lang is not None:
                    langs.append(lang)
        if not types:
            self.empty("type", ptr, "no type left to generate")
        return self.union(langs)


def compile_schema(schema: Any, limits: Limits | None = None) -> CompiledSchema:
    """Compile `schema` (see the module docstring); raise `UnsupportedSchemaError` when it cannot be enforced."""
    limits = limits or Limits()
    sc = SchemaContext(schema)
    check_keywords(sc)
    comp = Compiler(sc, limits)
    lang = comp.compile(schema, "", Ctx())
    if lang is None:
        keyword, ptr, reason = comp.empty_reason or ("schema", "", "no instance can be generated")
        raise UnsupportedSchemaError(keyword, ptr, f"no instance within the caps: {reason}")
    lark = comp.g.render(lang.sym)
    _validate_grammar(lark)
    family = _QUOTE_LINE.sub(r"\1: %regex {}", lark)
    return CompiledSchema(
        lark, lang.max_bytes, limits, sc.cls.__name__, tuple(comp.caps), comp.g.ir(lang.sym), family
    )


_QUOTE_LINE = re.compile(r"^(T\d+S\d*): %regex .*$", re.MULTILINE)  # quoted and grounded spans


def _validate_grammar(lark: str) -> None:
    """Have llguidance parse the grammar now (a few ms) so a compiler bug surfaces here, not mid-decode."""
    try:
        import llguidance
    except ImportError:  # pragma: no cover - the engine is an optional dependency
        return
    error = llguidance.LLMatcher.validate_grammar(lark)
    if error:
        from agentflow.exceptions import DecodingInvariantError

        raise DecodingInvariantError(
            f"internal error: generated grammar rejected by llguidance: {error[:300]}"
        )
