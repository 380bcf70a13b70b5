"""The compiled grammar as xgrammar EBNF: rules one to one, every lexeme as the right-linear rules of its
minimal DFA (so llguidance's ``&`` and ``~`` are resolved exactly, `automata.py`).

xgrammar matches characters, not lexemes; the two readings agree here because no lexeme of the compiled
JSON grammar can be followed by a byte that would extend it (every lexeme ends with a closing quote, a
``:``, or is a number followed by ``,`` ``]`` ``}`` or the end), so maximal munch never chooses a split. The
engines' masks are compared token by token in the tests.
"""

from __future__ import annotations

from agentflow.decoding.engines.automata import DFA, AutomatonError, lexeme_dfa
from agentflow.decoding.grammar import GrammarIR

__all__ = ["ebnf_class", "ebnf_literal", "to_ebnf"]


def ebnf_literal(text: str) -> str:
    out = []
    for ch in text.encode("ascii"):
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append(f"\\x{ch:02x}")
    return '"' + "".join(out) + '"'


def ebnf_class(codes: frozenset[int]) -> str:
    """A character class (or a one-character literal) for a non-empty set of ASCII bytes."""
    items = sorted(codes)
    if len(items) == 1:
        return ebnf_literal(chr(items[0]))
    parts: list[str] = []
    start = prev = items[0]
    for code in [*items[1:], None]:
        if code is not None and code == prev + 1:
            prev = code
            continue
        parts.append(f"\\x{start:02x}" if start == prev else f"\\x{start:02x}-\\x{prev:02x}")
        if code is not None:
            start = prev = code
    return "[" + "".join(parts) + "]"


def _dfa_rules(name: str, dfa: DFA) -> list[str]:
    """`name` ::= the language of `dfa` (state q is rule `name_q`; accepting sinks are inlined away)."""

    def state(q: int) -> str:
        return name if q == 0 else f"{name}_{q}"

    sink = [dfa.accept[q] and not dfa.trans[q] for q in range(dfa.size)]
    lines = []
    for q in range(dfa.size):
        if sink[q] and q != 0:
            continue
        alts = [ebnf_class(codes) + ("" if sink[t] else " " + state(t)) for t, codes in dfa.succ(q).items()]
        if dfa.accept[q]:
            alts.append('""')
        if not alts:
            raise AutomatonError("empty lexeme")
        lines.append(f"{state(q)} ::= {' | '.join(alts)}")
    return lines


def to_ebnf(ir: GrammarIR) -> str:
    """xgrammar EBNF (root rule `root`) for the grammar reachable from `ir.start`; raises `AutomatonError`."""
    lines: list[str] = []
    done: set[str] = set()

    def item(x: str) -> str:
        if x.startswith('"'):
            text = GrammarIR.literal_text(x)
            return ebnf_literal(text) if text else '""'
        if x not in done:
            done.add(x)
            todo.append(x)
        return x

    todo: list[str] = []
    lines.append(f"root ::= {item(ir.start)}")
    while todo:
        name = todo.pop()
        if name in ir.lexemes:
            lexeme = ir.lexemes[name]
            try:
                lines += _dfa_rules(name, lexeme_dfa(lexeme))
            except AutomatonError as exc:
                raise AutomatonError(str(exc), lexeme) from None
        else:
            alts = [" ".join(item(x) for x in alt) or '""' for alt in ir.rules[name]]
            lines.append(f"{name} ::= {' | '.join(alts)}")
    return "\n".join(lines) + "\n"
