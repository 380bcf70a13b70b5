"""Byte-level finite automata for lexemes: what turns llguidance's regex intersections (``&``) and negations
(``~``) into something engines without them can enforce exactly.

A lexeme's regexes (llguidance's dialect, which Python's parser reads the same way for everything the compiler
emits) become DFAs over bytes by Thompson construction and subset construction; ``&`` and ``~`` become product
automata; the result is trimmed and minimised. The compiled grammar is ASCII-only, so every automaton lives
over the ASCII bytes: a regex whose language is not ASCII-only by construction (``.``, negated classes) is
exact here only when intersected with one that is, which `lexeme_dfa` checks.

Emitters (`ebnf.py`, `regex_form.py`) read `DFA.succ`: per state, the byte set leading to each target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from agentflow.decoding import re_syntax as rx
from agentflow.decoding.grammar import Lexeme

__all__ = ["DFA", "AutomatonError", "lexeme_dfa", "regex_dfa"]

ASCII = frozenset(range(128))
_NOT_NEWLINE = ASCII - {0x0A}
MAX_STATES = 200_000  # per automaton; beyond this a lexeme is refused by the engines that need automata


class AutomatonError(ValueError):
    """A lexeme that cannot be turned into an exact automaton (a construct not handled, or too many states);
    `lexeme` is the one at fault when known."""

    def __init__(self, message: str, lexeme: Lexeme | None = None) -> None:
        super().__init__(message)
        self.lexeme = lexeme


@dataclass
class DFA:
    """A deterministic automaton over bytes; state 0 is the start. The bytes are partitioned into `blocks`
    (bytes no regex of the lexeme tells apart); `trans[q]` maps a block index to the next state (a missing
    block is the dead state)."""

    trans: list[dict[int, int]]
    accept: list[bool]
    blocks: tuple[frozenset[int], ...]
    _succ: list[dict[int, frozenset[int]]] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.trans)

    def succ(self, q: int) -> dict[int, frozenset[int]]:
        """Target state -> the bytes leading there from `q`."""
        if self._succ is None:
            out: list[dict[int, frozenset[int]]] = []
            for row in self.trans:
                groups: dict[int, set[int]] = {}
                for block, t in row.items():
                    groups.setdefault(t, set()).update(self.blocks[block])
                out.append({t: frozenset(bs) for t, bs in groups.items()})
            self._succ = out
        return self._succ[q]

    def matches(self, data: bytes) -> bool:
        of = {b: i for i, block in enumerate(self.blocks) for b in block}
        q = 0
        for byte in data:
            q = self.trans[q].get(of.get(byte, -1), -1)
            if q < 0:
                return False
        return self.accept[q]

    def acyclic(self) -> bool:
        color = [0] * self.size
        for root in range(self.size):
            if color[root]:
                continue
            stack = [(root, iter(self.trans[root].values()))]
            color[root] = 1
            while stack:
                q, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    color[q] = 2
                    stack.pop()
                elif color[nxt] == 1:
                    return False
                elif color[nxt] == 0:
                    color[nxt] = 1
                    stack.append((nxt, iter(self.trans[nxt].values())))
        return True


# ------------------------------------------------------------------------------------------ regex -> NFA


class _NFA:
    """Thompson construction. Edges carry byte sets; `blocks()` then partitions the bytes so the subset
    construction runs over a handful of blocks instead of 128 bytes."""

    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[frozenset[int], int]]] = []
        self.exact = True  # the language is ASCII-only by construction (no `.`, no negated class)
        self.final = -1

    def new(self) -> int:
        self.eps.append([])
        self.edges.append([])
        if len(self.eps) > MAX_STATES:
            raise AutomatonError("regex too large for an automaton")
        return len(self.eps) - 1

    def chars(self, start: int, codes: frozenset[int]) -> int:
        end = self.new()
        if codes:
            self.edges[start].append((codes, end))
        return end

    def seq(self, items: tuple[rx.Node, ...], start: int) -> int:
        for node in items:
            start = self.item(node, start)
        return start

    def item(self, node: rx.Node, start: int) -> int:
        match node:
            case rx.Char(code):
                if code > 0x7F:
                    raise AutomatonError("non-ASCII literal")
                return self.chars(start, frozenset({code}))
            case rx.NotChar(code):
                self.exact = False
                return self.chars(start, ASCII - {code})
            case rx.AnyChar():
                self.exact = False
                return self.chars(start, _NOT_NEWLINE)
            case rx.CharClass():
                return self.chars(start, self._class(node))
            case rx.Group(items, flagged):
                if flagged:
                    raise AutomatonError("inline regex flags")
                return self.seq(items, start)
            case rx.Alt(branches):
                end = self.new()
                for branch in branches:
                    s = self.new()
                    self.eps[start].append(s)
                    self.eps[self.seq(branch, s)].append(end)
                return end
            case rx.Repeat(lo, hi, items):
                return self._repeat(lo, hi, items, start)
            case rx.Anchor(kind):
                raise AutomatonError(f"regex construct at ({kind}) not handled")
            case rx.Unsupported(what):
                raise AutomatonError(f"regex construct {what} not handled")
        raise AutomatonError(f"regex construct {node!r} not handled")  # pragma: no cover

    def _repeat(self, lo: int, hi: int | None, items: tuple[rx.Node, ...], start: int) -> int:
        cur = start
        for _ in range(lo):
            cur = self.seq(items, cur)
        if hi is None:
            loop = self.new()
            self.eps[cur].append(loop)
            self.eps[self.seq(items, loop)].append(loop)
            return loop
        end = self.new()
        self.eps[cur].append(end)
        for _ in range(hi - lo):
            cur = self.seq(items, cur)
            self.eps[cur].append(end)
        return end

    def _class(self, node: rx.CharClass) -> frozenset[int]:
        if node.categories:
            raise AutomatonError("class item category not handled")
        codes = set(node.chars)
        for lo, hi in node.ranges:
            codes.update(range(lo, hi + 1))
        if node.negate:
            self.exact = False
            return ASCII - codes
        if any(c > 0x7F for c in codes):
            raise AutomatonError("non-ASCII character class")
        return frozenset(codes)


def _closure(nfa: _NFA, states: set[int]) -> frozenset[int]:
    stack = list(states)
    seen = set(states)
    while stack:
        for t in nfa.eps[stack.pop()]:
            if t not in seen:
                seen.add(t)
                stack.append(t)
    return frozenset(seen)


def _parse(regex: str) -> _NFA:
    try:
        parsed = rx.parse(regex, compile_check=False)
    except Exception as exc:  # re.error, RecursionError, OverflowError
        raise AutomatonError(f"regex not parsed: {exc}") from None
    if parsed.flagged:
        raise AutomatonError("regex flags")
    nfa = _NFA()
    start = nfa.new()
    nfa.final = nfa.seq(parsed.items, start)
    return nfa


def _partition(sets: set[frozenset[int]]) -> tuple[frozenset[int], ...]:
    """The coarsest partition of the ASCII bytes in which every set is a union of blocks."""
    ordered = sorted(sets, key=sorted)
    by_sig: dict[tuple[bool, ...], set[int]] = {}
    for byte in range(128):
        by_sig.setdefault(tuple(byte in s for s in ordered), set()).add(byte)
    return tuple(frozenset(b) for sig, b in sorted(by_sig.items(), key=lambda kv: min(kv[1])) if any(sig))


def _determinize(nfa: _NFA, blocks: tuple[frozenset[int], ...]) -> DFA:
    of = {b: i for i, block in enumerate(blocks) for b in block}
    edge_blocks = [[(frozenset(of[b] for b in codes if b in of), t) for codes, t in row] for row in nfa.edges]
    final = nfa.final
    first = _closure(nfa, {0})
    index = {first: 0}
    order = [first]
    trans: list[dict[int, int]] = []
    accept: list[bool] = []
    while len(trans) < len(order):
        cur = order[len(trans)]
        moves: dict[int, set[int]] = {}
        for s in cur:
            for codes, t in edge_blocks[s]:
                for block in codes:
                    moves.setdefault(block, set()).add(t)
        row: dict[int, int] = {}
        for block, targets in moves.items():
            closed = _closure(nfa, targets)
            if closed not in index:
                index[closed] = len(order)
                order.append(closed)
                if len(order) > MAX_STATES:
                    raise AutomatonError("automaton too large")
            row[block] = index[closed]
        trans.append(row)
        accept.append(final in cur)
    return minimize(trim(DFA(trans, accept, blocks)))


def regex_dfa(regex: str) -> tuple[DFA, bool]:
    """The minimal DFA of `regex` (full match), and whether its language is ASCII-only by construction."""
    nfa = _parse(regex)
    sets = {codes for row in nfa.edges for codes, _ in row}
    return _determinize(nfa, _partition(sets)), nfa.exact


# ------------------------------------------------------------------------------------- operations


def product(a: DFA, b: DFA, *, negate_b: bool = False) -> DFA:
    """Strings in `a` and in `b` (or, with `negate_b`, in `a` and not in `b`); both over the same blocks."""
    assert a.blocks == b.blocks
    index = {(0, 0): 0}
    order = [(0, 0)]
    trans: list[dict[int, int]] = []
    accept: list[bool] = []
    while len(trans) < len(order):
        qa, qb = order[len(trans)]
        row: dict[int, int] = {}
        brow = b.trans[qb] if qb >= 0 else {}
        for byte, ta in a.trans[qa].items():
            tb = brow.get(byte, -1)
            if tb < 0 and not negate_b:
                continue
            key = (ta, tb)
            if key not in index:
                index[key] = len(order)
                order.append(key)
                if len(order) > MAX_STATES:
                    raise AutomatonError("intersection automaton too large")
            row[byte] = index[key]
        trans.append(row)
        in_b = qb >= 0 and b.accept[qb]
        accept.append(a.accept[qa] and (not in_b if negate_b else in_b))
    return minimize(trim(DFA(trans, accept, a.blocks)))


def trim(dfa: DFA) -> DFA:
    """Drop states that cannot reach acceptance (the start stays, possibly as the only, dead, state)."""
    rev: list[list[int]] = [[] for _ in range(dfa.size)]
    for q, row in enumerate(dfa.trans):
        for t in row.values():
            rev[t].append(q)
    live = {q for q in range(dfa.size) if dfa.accept[q]}
    stack = list(live)
    while stack:
        for p in rev[stack.pop()]:
            if p not in live:
                live.add(p)
                stack.append(p)
    keep = [q for q in range(dfa.size) if q in live and q != 0]
    remap = {0: 0, **{q: i + 1 for i, q in enumerate(keep)}}
    trans = [{b: remap[t] for b, t in dfa.trans[q].items() if t in live} for q in [0, *keep]]
    if 0 not in live:
        trans[0] = {}
    return DFA(trans, [dfa.accept[q] for q in [0, *keep]], dfa.blocks)


def _topological(dfa: DFA) -> list[int] | None:
    """States in topological order, or None when the automaton has a cycle."""
    indeg = [0] * dfa.size
    for row in dfa.trans:
        for t in set(row.values()):
            indeg[t] += 1
    ready = [q for q in range(dfa.size) if indeg[q] == 0]
    out: list[int] = []
    while ready:
        q = ready.pop()
        out.append(q)
        for t in set(dfa.trans[q].values()):
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return out if len(out) == dfa.size else None


def minimize(dfa: DFA) -> DFA:
    """The minimal equivalent DFA of a trimmed one: one bottom-up pass when acyclic (every lexeme with an
    intersection is finite), Moore's partition refinement otherwise."""
    n = dfa.size
    topo = _topological(dfa)
    if topo is not None:
        cls = [0] * n
        sigs: dict[tuple[Any, ...], int] = {}
        for q in reversed(topo):
            sig = (dfa.accept[q], tuple(sorted((b, cls[t]) for b, t in dfa.trans[q].items())))
            cls[q] = sigs.setdefault(sig, len(sigs))
    else:
        cls = [int(a) for a in dfa.accept]
        count = len(set(cls))
        while True:
            sigs = {}
            new = [0] * n
            for q in range(n):
                key = (cls[q], tuple(sorted((b, cls[t]) for b, t in dfa.trans[q].items())))
                new[q] = sigs.setdefault(key, len(sigs))
            cls = new
            if len(sigs) == count:
                break
            count = len(sigs)
    # renumber so that the start's class is 0, in BFS order (stable, readable output)
    order = {cls[0]: 0}
    rep: dict[int, int] = {cls[0]: 0}
    queue = [0]
    while queue:
        q = queue.pop(0)
        for _b, t in sorted(dfa.trans[q].items()):
            if cls[t] not in order:
                order[cls[t]] = len(order)
                rep[cls[t]] = t
                queue.append(t)
    trans: list[dict[int, int]] = [{} for _ in order]
    accept = [False] * len(order)
    for c, i in order.items():
        q = rep[c]
        trans[i] = {b: order[cls[t]] for b, t in dfa.trans[q].items()}
        accept[i] = dfa.accept[q]
    return DFA(trans, accept, dfa.blocks)


def lexeme_dfa(lexeme: Lexeme) -> DFA:
    """The exact minimal DFA of a lexeme (its regexes intersected, `~` ones subtracted).

    Raises `AutomatonError` unless some positive regex is ASCII-only by construction: the other regexes'
    `.` and negated classes are read over ASCII, which is exact only inside such an intersection.
    """
    if lexeme.grounded is not None:
        raise AutomatonError(
            "a grounded answer's automaton grows with the sources times the length cap; only llguidance "
            "enforces it",
            lexeme,
        )
    if lexeme.substring:
        return _quote_dfa(lexeme.substring, lexeme.parts)
    return _parts_dfa(lexeme.parts)


def _is_space(chunk: str) -> bool:
    import json

    return json.loads(f'"{chunk}"')[:1].isspace()


@lru_cache(maxsize=256)
def _quote_dfa(chunks: tuple[str, ...], parts: tuple[str, ...]) -> DFA:
    """``"`` + a span of the encoded `chunks` (whole chunks, not starting or ending with a whitespace chunk) +
    ``"``, the span matching every regex in `parts`: the language `decoding.quotes` describes, built
    structurally (a chain over the text's bytes, entered at span starts and left at span ends). Its subset
    construction stays linear in the text (sets of end positions, as in a suffix automaton)."""
    nfa = _NFA()
    start = nfa.new()
    hub = nfa.new()
    nfa.edges[start].append((frozenset({0x22}), hub))
    close = nfa.new()
    nfa.final = nfa.new()
    nfa.edges[close].append((frozenset({0x22}), nfa.final))
    at = nfa.new()
    for chunk in chunks:
        space = _is_space(chunk)
        if not space:
            nfa.eps[hub].append(at)
        data = chunk.encode("ascii")
        for byte in data[:-1]:
            at = nfa.chars(at, frozenset({byte}))
        if not space:  # a span may end after this chunk: its last byte also leads out (never an empty span)
            nfa.edges[at].append((frozenset({data[-1]}), close))
        at = nfa.chars(at, frozenset({data[-1]}))
    wrapped = [
        (_parse(f"\\x22(?:{p[1:] if p.startswith('~') else p})\\x22"), p.startswith("~")) for p in parts
    ]
    blocks = _partition(
        {codes for n in (nfa, *(w for w, _ in wrapped)) for row in n.edges for codes, _ in row}
    )
    dfa = _determinize(nfa, blocks)
    for other, neg in wrapped:
        dfa = product(dfa, _determinize(other, blocks), negate_b=neg)
    return dfa


@lru_cache(maxsize=4096)
def _parts_dfa(parts: tuple[str, ...]) -> DFA:
    nfas = [(_parse(p[1:] if p.startswith("~") else p), p.startswith("~")) for p in parts]
    if not any(nfa.exact for nfa, neg in nfas if not neg):
        raise AutomatonError("no ASCII-only regex in the lexeme to bound the others")
    blocks = _partition({codes for nfa, _ in nfas for row in nfa.edges for codes, _ in row})
    built = [(_determinize(nfa, blocks), neg) for nfa, neg in nfas]
    positives = sorted((d for d, neg in built if not neg), key=lambda d: d.size)
    dfa = positives[0]
    for other in positives[1:]:
        dfa = product(dfa, other)
    for other, neg in built:
        if neg:
            dfa = product(dfa, other, negate_b=True)
    return dfa
