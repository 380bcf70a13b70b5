"""A small builder for llguidance Lark grammars, and `Lang`: what the compiler knows about a sub-language."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["ALL_TYPES", "Grammar", "GrammarIR", "Lang", "Lexeme", "json_text", "lark_literal"]

#: JSON types as the compiler tracks them. "integer" = integer-valued numbers, "number" = other numbers.
ALL_TYPES = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})


def json_text(value: Any) -> str:
    """Compact, ASCII-only JSON text of `value` (what the grammar emits for a literal)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def lark_literal(text: str) -> str:
    """`text` as a Lark string literal."""
    return json.dumps(text, ensure_ascii=True)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True, slots=True)
class Lang:
    """A compiled sub-language: its grammar symbol and facts used for bounds and disjointness proofs.

    `max_bytes` bounds the length of every string in the language. `types` are the JSON types it can
    produce. `values` lists its members when it is finite and small. For languages of objects only,
    `keys_always` maps each key present in every member to its finite set of values (or None), and
    `keys_maybe` holds every key that can occur (``"*"``: any key
    except those in `keys_never`).
    """

    sym: str
    max_bytes: int
    types: frozenset[str]
    values: tuple[Any, ...] | None = None
    keys_always: dict[str, tuple[Any, ...] | None] = field(default_factory=dict)
    keys_maybe: frozenset[str] = frozenset()
    keys_never: frozenset[str] = frozenset()
    strings_never: frozenset[str] = frozenset()  # JSON texts of strings it never produces

    @staticmethod
    def value_types(values: tuple[Any, ...]) -> frozenset[str]:
        return frozenset(_json_type(v) for v in values)


@dataclass(frozen=True, slots=True)
class Lexeme:
    """A lexeme: the bytes matching every regex in `parts` (a leading ``~`` negates one), in llguidance's regex
    dialect. `keyword` / `pointer` say which schema keyword made it (engines that cannot express an
    intersection or negation name them when they refuse)."""

    parts: tuple[str, ...]
    keyword: str = "type"
    pointer: str = ""
    #: a quoted string (`decoding.quotes`): ``"`` + a span of these JSON-encoded chunks (whole chunks, not
    #: starting or ending with whitespace) + ``"``, the span also matching every regex in `parts`
    substring: tuple[str, ...] = ()
    #: a grounded answer (`decoding.grounded`): spans of these sources' encoded chunks among digit-free text
    grounded: tuple[tuple[str, ...], ...] | None = None

    @property
    def plain(self) -> bool:
        """One positive regex: no intersection, no negation."""
        return (
            not self.substring
            and self.grounded is None
            and len(self.parts) == 1
            and not self.parts[0].startswith("~")
        )


#: An item of a rule alternative: a rule name (``rN``), a lexeme name (``TN``) or a JSON-quoted literal.
_ITEM = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')


@dataclass(frozen=True, slots=True)
class GrammarIR:
    """The compiled grammar in structured form, the source every mask engine's grammar is emitted from.

    `rules` maps a rule name to its alternatives, each a tuple of items (``()`` is the empty alternative);
    `lexemes` maps a lexeme name to its `Lexeme`; an item that is neither is a JSON-quoted literal. The
    grammar is acyclic (every derivation bounded), so rules can be inlined.
    """

    start: str
    rules: Mapping[str, tuple[tuple[str, ...], ...]]
    lexemes: Mapping[str, Lexeme]

    @staticmethod
    def literal_text(item: str) -> str:
        return json.loads(item)


class Grammar:
    """Accumulates Lark rules and lexemes; identical bodies share one name (cheap memoisation). Keeps the same
    grammar in structured form too (`ir`), for the engines that need another syntax."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._by_body: dict[str, str] = {}
        self._count = 0
        self._rules: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._lexemes: dict[str, Lexeme] = {}

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def rule(self, alternatives: list[str]) -> str:
        """A rule `r: alt1 | alt2 ...` (each alternative a space-separated sequence; "" is empty)."""
        body = " | ".join(a if a else '""' for a in alternatives)
        key = "r:" + body
        if key not in self._by_body:
            name = self._name("r")
            self._by_body[key] = name
            self._lines.append(f"{name}: {body}")
            self._rules[name] = tuple(tuple(_ITEM.findall(a)) for a in alternatives)
        return self._by_body[key]

    def token(self, regex: str, *intersect: str, origin: tuple[str, str] = ("type", "")) -> str:
        """A lexeme matching `regex` and every regex in `intersect` (a leading ``~`` negates one); `origin` is
        the (keyword, JSON Pointer) that asked for it."""
        body = " & ".join(f"~/{r[1:]}/" if r.startswith("~") else f"/{r}/" for r in (regex, *intersect))
        key = "t:" + body
        if key not in self._by_body:
            name = self._name("T")
            self._by_body[key] = name
            self._lines.append(f"{name}: {body}")
            self._lexemes[name] = Lexeme((regex, *intersect), *origin)
        return self._by_body[key]

    def quote(self, chunks: tuple[str, ...], *parts: str, origin: tuple[str, str] = ("type", "")) -> str:
        """A lexeme: a JSON string whose content is a span of `chunks` (see `Lexeme.substring`) matching every
        regex in `parts`. In Lark, llguidance's ``substring_chunks`` intersected with the edge rule."""
        from agentflow.decoding.quotes import edge_regexes

        key = "q:" + json.dumps([chunks, parts])
        if key not in self._by_body:
            name = self._name("T")
            self._by_body[key] = name
            inner = [json.dumps({"substring_chunks": list(chunks)}, ensure_ascii=True)]
            rx = [*edge_regexes(chunks), *parts]
            body = " & ".join(
                ["%regex " + inner[0], *(f"~/{r[1:]}/" if r.startswith("~") else f"/{r}/" for r in rx)]
            )
            self._lines.append(f"{name}S: {body}")
            self._lines.append(f'{name}: "\\"" {name}S "\\""')
            self._lexemes[name] = Lexeme(tuple(parts), *origin, substring=chunks)
        return self._by_body[key]

    def grounded(
        self,
        sources: tuple[tuple[str, ...], ...],
        cap: int,
        words: tuple[str, ...] | None = None,
        origin: tuple[str, str] = ("type", ""),
    ) -> str:
        """A lexeme: a JSON string of at most `cap` bytes whose digits (with `words`: whose words too, outside
        that list) all sit in spans of `sources` (the encoded chunks of each source text; `decoding.grounded`)."""
        from agentflow.decoding.grounded import lark_body

        key = "g:" + json.dumps([sources, cap, words])
        if key not in self._by_body:
            name = self._name("T")
            self._by_body[key] = name
            self._lines.extend(lark_body(name, sources, cap, words))
            self._lexemes[name] = Lexeme((), *origin, grounded=sources)
        return self._by_body[key]

    def literal(self, text: str) -> str:
        """A lexeme matching exactly `text`."""
        return lark_literal(text)

    def render(self, start: str) -> str:
        return "\n".join([f"start: {start}", *self._lines]) + "\n"

    def ir(self, start: str) -> GrammarIR:
        return GrammarIR(start, MappingProxyType(dict(self._rules)), MappingProxyType(dict(self._lexemes)))

    @property
    def size(self) -> int:
        return len(self._lines)
