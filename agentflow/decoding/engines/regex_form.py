"""The compiled grammar as one regular expression (for outlines_core, which takes nothing else).

The grammar is acyclic, so its language is finite and a regex exists; inlining rules duplicates shared ones,
so alternatives are factored (common leading and trailing items) and the text is cut off at `max_chars`
(`RegexTooLarge`). A plain lexeme is its own regex (llguidance and outlines_core share Rust's regex syntax);
one with ``&`` / ``~`` goes through its minimal DFA and back to a regex by splitting on path length (the
strings of a DFA of depth n are, for a middle length m, the short ones plus, for each state r reachable in
exactly m bytes, the m-byte paths to r followed by r's language), which keeps e.g. a byte-capped string with
escapes quadratic instead of exponential.
"""

from __future__ import annotations

from functools import lru_cache

from agentflow.decoding.engines.automata import DFA, AutomatonError, lexeme_dfa
from agentflow.decoding.grammar import GrammarIR, Lexeme

__all__ = ["RegexTooLarge", "dfa_regex", "to_regex"]

_META = set(b"\\.+*?()|[]{}^$")
_CLASS_SAFE = {c for c in range(0x21, 0x7F) if chr(c).isalnum() or c in b"!\"#%',/:;<=>@_`{}|"}


class RegexTooLarge(AutomatonError):
    """The regex form exceeds the size limit; `lexeme` is the lexeme being emitted when it happened, if any."""


def _lit(text: bytes) -> str:
    out = []
    for ch in text:
        if ch in _META:
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append(f"\\x{ch:02x}")
    return "".join(out)


def _class(codes: frozenset[int]) -> str:
    items = sorted(codes)
    if len(items) == 1:
        return _lit(bytes(items))

    def one(c: int) -> str:
        return chr(c) if c in _CLASS_SAFE else f"\\x{c:02x}"

    parts: list[str] = []
    start = prev = items[0]
    for code in [*items[1:], None]:
        if code is not None and code == prev + 1:
            prev = code
            continue
        parts.append(
            one(start) if start == prev else one(start) + ("" if prev == start + 1 else "-") + one(prev)
        )
        if code is not None:
            start = prev = code
    return "[" + "".join(parts) + "]"


def _union(alts: list[str], optional: bool = False) -> str:
    alts = list(dict.fromkeys(a for a in alts))
    if "" in alts:
        optional = True
        alts.remove("")
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    if optional:
        if len(alts) == 1 and not (
            len(body) == 1 or (body.startswith("[") and body.endswith("]") and body.count("[") == 1)
        ):
            body = "(?:" + body + ")"
        body += "?"
    return body


class _Splitter:
    """Regex of an acyclic DFA by length splitting (see the module docstring)."""

    SMALL = 2

    def __init__(self, dfa: DFA, limit: int) -> None:
        self.dfa = dfa
        self.limit = limit
        self.depth = self._depths()
        self._reach: dict[tuple[int, int], frozenset[int]] = {}
        self._le: dict[tuple[int, int], str | None] = {}
        self._ex: dict[tuple[int, int, int], str | None] = {}

    def _depths(self) -> list[int]:
        depth = [-1] * self.dfa.size

        def visit(q: int) -> int:
            stack = [q]
            while stack:
                s = stack[-1]
                pending = [t for t in self.dfa.trans[s].values() if depth[t] < 0]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                depth[s] = max([0, *(depth[t] + 1 for t in self.dfa.trans[s].values())])
            return depth[q]

        visit(0)
        return depth

    def reach(self, q: int, m: int) -> frozenset[int]:
        key = (q, m)
        if key not in self._reach:
            if m == 0:
                out = frozenset({q})
            else:
                out = frozenset().union(*(self.reach(t, m - 1) for t in set(self.dfa.trans[q].values())))
            self._reach[key] = out
        return self._reach[key]

    def check(self, text: str) -> str:
        if len(text) > self.limit:
            raise RegexTooLarge(f"regex form over {self.limit} characters")
        return text

    def lang(self, q: int, hi: int) -> str | None:
        """Strings of L(q) of at most `hi` bytes (None: none)."""
        hi = min(hi, self.depth[q])
        key = (q, hi)
        if key in self._le:
            return self._le[key]
        accept = self.dfa.accept[q]
        if hi <= self.SMALL:
            alts = []
            if hi > 0:
                for t, codes in self.dfa.succ(q).items():
                    rest = self.lang(t, hi - 1)
                    if rest is not None:
                        alts.append(_class(codes) + rest)
            out = None if not alts and not accept else _union(alts, accept)
        else:
            mid = (hi + 1) // 2
            alts = []
            short = self.lang(q, mid - 1)
            optional = short == ""
            if short:
                alts.append(short)
            for r in sorted(self.reach(q, mid)):
                head, tail = self.exact(q, r, mid), self.lang(r, hi - mid)
                if head is not None and tail is not None:
                    alts.append(head + tail)
            out = None if not alts and not optional else _union(alts, optional)
        if out is not None:
            self.check(out)
        self._le[key] = out
        return out

    def exact(self, q: int, r: int, m: int) -> str | None:
        """Paths of exactly `m` bytes from q to r."""
        key = (q, r, m)
        if key in self._ex:
            return self._ex[key]
        if r not in self.reach(q, m):
            out = None
        elif m == 0:
            out = ""
        elif m == 1:
            out = _class(self.dfa.succ(q)[r])
        else:
            h = m // 2
            alts = []
            for s in sorted(self.reach(q, h)):
                if r in self.reach(s, m - h):
                    a, b = self.exact(q, s, h), self.exact(s, r, m - h)
                    if a is not None and b is not None:
                        alts.append(a + b)
            out = _union(alts) if alts else None
        if out is not None:
            self.check(out)
        self._ex[key] = out
        return out


def dfa_regex(dfa: DFA, limit: int) -> str:
    """A regex for an acyclic DFA's language, at most `limit` characters (else `RegexTooLarge`)."""
    if not dfa.acyclic():
        raise AutomatonError("infinite lexeme")
    out = _Splitter(dfa, limit).lang(0, dfa.size + 1)
    if out is None:
        raise AutomatonError("empty lexeme")
    return out


@lru_cache(maxsize=4096)
def _lexeme_regex(lexeme: Lexeme, limit: int) -> str:
    if lexeme.plain:
        return "(?:" + lexeme.parts[0] + ")"
    try:
        return "(?:" + dfa_regex(lexeme_dfa(lexeme), limit) + ")"
    except AutomatonError as exc:
        raise type(exc)(str(exc), lexeme) from None


def _seq(items: list[str]) -> str:
    return "".join(items)


def to_regex(ir: GrammarIR, max_chars: int) -> str:
    """One regex (full match) for the grammar; raises `RegexTooLarge` / `AutomatonError`."""
    memo: dict[str, str] = {}

    def item(x: str) -> str:
        if x.startswith('"'):
            return _lit(GrammarIR.literal_text(x).encode("ascii"))
        if x in memo:
            return memo[x]
        if x in ir.lexemes:
            out = _lexeme_regex(ir.lexemes[x], max_chars)
        else:
            out = alternatives([list(a) for a in ir.rules[x]])
        if len(out) > max_chars:
            raise too_large()
        memo[x] = out
        return out

    def too_large() -> RegexTooLarge:
        """Blame the largest lexeme emitted so far: usually a long capped string, inlined many times."""
        lexemes = [n for n in memo if n in ir.lexemes]
        if not lexemes:
            return RegexTooLarge(f"regex form over {max_chars} characters")
        big = max(lexemes, key=lambda n: len(memo[n]))
        return RegexTooLarge(
            f"regex form over {max_chars} characters (its largest part, {len(memo[big])} "
            "characters, is this lexeme)",
            ir.lexemes[big],
        )

    def alternatives(alts: list[list[str]]) -> str:
        if len(alts) == 1:
            return _seq([item(x) for x in alts[0]])
        head: list[str] = []
        while all(a for a in alts) and len({a[0] for a in alts}) == 1:
            head.append(alts[0][0])
            alts = [a[1:] for a in alts]
        tail: list[str] = []
        while all(a for a in alts) and len({a[-1] for a in alts}) == 1:
            tail.insert(0, alts[0][-1])
            alts = [a[:-1] for a in alts]
        # alternatives sharing a last item (an optional entry before the same rest) are factored pairwise
        groups: dict[str, list[list[str]]] = {}
        for a in alts:
            groups.setdefault(a[-1] if a else "", []).append(a)
        parts = []
        for last, group in groups.items():
            if last and len(group) > 1:
                parts.append(alternatives([g[:-1] for g in group]) + item(last))
            else:
                parts.extend(_seq([item(x) for x in g]) for g in group)
        mid = _union(parts)
        return _seq([*(item(x) for x in head), mid, *(item(x) for x in tail)])

    return item(ir.start)
