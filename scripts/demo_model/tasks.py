"""Synthetic tasks for the demo model: requests in many wordings, the tool call each one needs, what to check.

A `Task` is one user request with its target tool call (or none: out of scope) and what a correct run must
produce. Everything here is pure Python over a seeded `random.Random`, so the same seed gives the same tasks.

Train / eval split. Every list of wordings below is split by position: the entries at positions
`i % HOLDOUT_EVERY == HOLDOUT_AT` are *held out* (only eval tasks use them), the same for unit spellings,
number words and out-of-scope requests. Eval tasks are drawn from all entries, with fresh numbers (another seed),
and any eval request that also occurs among the training requests is dropped (`eval_tasks`), so an eval task
is never a training example. The hand-written paraphrases (paraphrases.jsonl) are never used for training;
`training_requests` lets a check assert that none of them occurs verbatim.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from note_facts import WRITE_STYLES, NoteFact, note_long, note_statement, note_todo, personal_questions

from agentflow.decoding.quotes import is_quote

HOLDOUT_EVERY = 7
HOLDOUT_AT = 3

SKILLS = ("calculator", "convert_units", "current_time", "notes", "out_of_scope")


@dataclass
class Task:
    """One request. `call` is the tool call a correct model makes first (None: answer directly).

    `skill` is calculator / convert_units / current_time / write_note / search_notes / out_of_scope;
    `expected` what the check needs: the number (calculator, convert_units), the zone (current_time), the
    note text (notes); `setup` notes to store before the run (search_notes); `meta` free-form details.
    """

    skill: str
    request: str
    call: dict[str, Any] | None
    expected: Any = None
    setup: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def _split(items: list[Any], split: str) -> list[Any]:
    """The entries of `items` a split may use: eval uses all, train all but the held-out positions."""
    if split == "eval":
        return items
    return [x for i, x in enumerate(items) if i % HOLDOUT_EVERY != HOLDOUT_AT]


def held_out(items: list[Any]) -> list[Any]:
    return [x for i, x in enumerate(items) if i % HOLDOUT_EVERY == HOLDOUT_AT]


# ------------------------------------------------------------------------------------------ surface noise

_PREFIXES = [
    "Hey, ",
    "Hi, ",
    "Hello! ",
    "OK, ",
    "Ok so ",
    "Quick question: ",
    "Question: ",
    "Hey there, ",
    "Hi there! ",
    "Excuse me, ",
    "Um, ",
    "So, ",
    "Alright, ",
    "Yo, ",
    "Good morning! ",
    "Sorry, ",
    "Right, ",
    "Well, ",
    "Hmm, ",
    "Dear assistant, ",
    "Assistant, ",
]
_SUFFIXES = [
    " please",
    ", please",
    " thanks",
    ", thanks!",
    " thank you",
    ", thank you.",
    " pls",
    " asap",
    " for me",
    " :)",
    "!",
    "??",
    " - thanks",
    " (thanks)",
    " quickly",
    ", if you can",
    " right now",
    " now",
    ". Thanks in advance",
]


def _noise(
    rng: random.Random,
    text: str,
    split: str,
    *,
    prefix_p: float = 0.2,
    suffix_p: float = 0.15,
    upper: bool = False,
) -> str:
    """Random greetings, politeness, casing and punctuation around `text` (a request)."""
    if rng.random() < prefix_p:
        p = rng.choice(_split(_PREFIXES, split))
        text = p + (text[0].lower() + text[1:] if text[:1].isupper() and not text[:2].isupper() else text)
    if rng.random() < suffix_p:
        end = ""
        if text and text[-1] in "?.!":
            end, text = text[-1], text[:-1]
        if text.rstrip().endswith("="):
            return _noise(rng, text + end, split, prefix_p=0.0, suffix_p=0.0, upper=upper)
        text = text.rstrip() + rng.choice(_split(_SUFFIXES, split)) + (end if rng.random() < 0.5 else "")
    r = rng.random()
    if r < 0.12:
        text = text.lower()
    elif r < 0.15 and upper:
        text = text.upper() if len(text) < 40 else text
    elif r < 0.45 and text[:1].islower():
        text = text[0].upper() + text[1:]
    r = rng.random()
    if r < 0.15 and text[-1:] in "?.!":
        text = text[:-1]
    elif r < 0.2 and text[-1:] not in "?.!":
        text += rng.choice("?.!")
    return text


def as_written(request: str, value: str) -> str:
    """`value` as the request spells it: verbatim if it occurs so, else its first case-insensitive whole-word
    occurrence (noise may have lower-cased the request), else unchanged."""
    if value in request:
        return value
    match = re.search(r"(?<!\w)" + re.escape(value) + r"(?!\w)", request, flags=re.IGNORECASE)
    return match.group(0) if match else value


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# -------------------------------------------------------------------------------------------------- numbers

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
_TENS = {
    30: "thirty",
    40: "forty",
    50: "fifty",
    60: "sixty",
    70: "seventy",
    80: "eighty",
    90: "ninety",
    100: "a hundred",
    1000: "a thousand",
}


def _number_words(split: str) -> dict[int, str]:
    words = {i: w for i, w in enumerate(_NUMBER_WORDS)}
    words.update(_TENS)
    keys = _split(sorted(words), split)
    return {k: words[k] for k in keys}


def _num_text(value: int | float, decimals: int = 0) -> str:
    if decimals == 0:
        return str(int(value))
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return text


def _rand_number(
    rng: random.Random, *, small: bool = False, allow_decimal: bool = True, allow_negative: bool = False
) -> str:
    """A number as the user writes it: mostly integers of 1-5 digits, sometimes decimals or negatives."""
    r = rng.random()
    if small:
        value: float = rng.randint(1, 20) if r < 0.7 else rng.randint(2, 99)
    elif r < 0.25:
        value = rng.randint(1, 20)
    elif r < 0.55:
        value = rng.randint(10, 999)
    elif r < 0.8:
        value = rng.randint(100, 9999)
    else:
        value = rng.randint(1000, 99999)
    decimals = 0
    if allow_decimal and rng.random() < 0.2:
        decimals = rng.choice([1, 1, 2, 2, 3])
        value = value / (10 ** rng.randint(0, decimals)) + rng.randint(1, 10**decimals - 1) / 10**decimals
    text = _num_text(value, decimals)
    if allow_negative and rng.random() < 0.15:
        text = "-" + text
    return text


def _json_number(text: str) -> int | float:
    """The JSON value a number written as `text` becomes (ints stay ints)."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


# ------------------------------------------------------------------------------------------------ calculator

# Wrappers around an arithmetic expression or a noun phrase ("the sum of 3 and 4").
_CALC_NP = [
    "What is {x}?",
    "What's {x}?",
    "what is {x}",
    "whats {x}",
    "{x}",
    "{x}?",
    "{x} = ?",
    "{x}=?",
    "Calculate {x}",
    "Calculate {x}.",
    "Compute {x}",
    "Evaluate {x}",
    "Work out {x}",
    "Solve {x}",
    "How much is {x}?",
    "Please calculate {x}",
    "Can you calculate {x}?",
    "What does {x} equal?",
    "What does {x} come to?",
    "{x} equals?",
    "Quick: {x}",
    "Tell me {x}",
    "What is the value of {x}?",
    "Find {x}.",
    "Figure out {x}",
    "I need {x}",
    "Result of {x}?",
    "Could you compute {x} for me?",
    "Help me with {x}",
    "what do you get for {x}?",
    "what's the answer to {x}",
    "Give me {x}",
    "Can you work out {x}?",
    "What is the result of {x}?",
    "calc {x}",
    "Do the math: {x}",
    "What would {x} be?",
    "I'd like to know {x}",
    "answer: {x}?",
    "How much do you get for {x}?",
    "Math question: what is {x}?",
    "Can you tell me what {x} is?",
    "Please work out {x}.",
    "What's the answer for {x}?",
    "Could you figure out {x}?",
    "Determine {x}",
    "What do I get if I calculate {x}?",
    "Need {x}",
    "calculate: {x}",
    "What number is {x}?",
]
# Wrappers around an imperative ("multiply 250 by 4 and add 17").
_CALC_IMP = [
    "{x}",
    "Please {x}.",
    "{X}, please",
    "Can you {x}?",
    "Could you {x} for me?",
    "I want you to {x}",
    "{X} and tell me the result",
    "{X}.",
    "Would you {x}?",
    "{X} - what do you get?",
    "Help me {x}",
    "What do you get if you {x}?",
    "What happens if you {x}?",
    "If you {x}, what do you get?",
    "Quickly {x}",
    "I need you to {x}",
    "Go ahead and {x}",
    "{X}, what's the result?",
    "Try to {x}",
    "what do I get when I {x}",
    "Can you please {x}?",
    "{X} for me",
    "What's the result when you {x}?",
    "Let's {x}",
    "Please {x} and give me the answer",
]

_OPS = {
    "add": [
        ("np", "{a} plus {b}"),
        ("np", "the sum of {a} and {b}"),
        ("np", "{a} and {b} added together"),
        ("np", "{a} added to {b}"),
        ("np", "the total of {a} and {b}"),
        ("imp", "add {a} and {b}"),
        ("imp", "add {a} to {b}"),
        ("imp", "sum {a} and {b}"),
        ("imp", "add together {a} and {b}"),
        ("np", "{a} more than {b}"),
        ("imp", "add up {a} and {b}"),
        ("np", "{a} increased by {b}"),
    ],
    "sub": [
        ("np", "{a} minus {b}"),
        ("np", "{a} take away {b}"),
        ("np", "the difference between {a} and {b}"),
        ("np", "{b} less than {a}"),
        ("np", "{b} subtracted from {a}"),
        ("imp", "subtract {b} from {a}"),
        ("imp", "take {b} from {a}"),
        ("imp", "take {b} away from {a}"),
        ("imp", "deduct {b} from {a}"),
        ("np", "{a} decreased by {b}"),
        ("np", "{a} reduced by {b}"),
        ("imp", "take away {b} from {a}"),
    ],
    "mul": [
        ("np", "{a} times {b}"),
        ("np", "{a} multiplied by {b}"),
        ("np", "the product of {a} and {b}"),
        ("imp", "multiply {a} by {b}"),
        ("imp", "multiply {a} and {b}"),
        ("np", "{a} x {b}"),
        ("imp", "multiply {a} with {b}"),
        ("np", "{a} lots of {b}"),
        ("np", "{a} groups of {b}"),
        ("imp", "times {a} by {b}"),
    ],
    "div": [
        ("np", "{a} divided by {b}"),
        ("np", "{a} over {b}"),
        ("np", "the quotient of {a} and {b}"),
        ("imp", "divide {a} by {b}"),
        ("np", "{a} split into {b} equal parts"),
        ("np", "{a} shared between {b}"),
        ("imp", "split {a} into {b} equal parts"),
        ("np", "{a} divided into {b}"),
        ("np", "the ratio of {a} to {b}"),
        ("imp", "share {a} among {b} people"),
    ],
    "pow": [
        ("np", "{a} to the power of {b}"),
        ("np", "{a} raised to the power of {b}"),
        ("np", "{a} to the {b}th power"),
        ("imp", "raise {a} to the power of {b}"),
        ("np", "{a} raised to {b}"),
        ("np", "{a} to the power {b}"),
        ("np", "{a} with exponent {b}"),
    ],
    "mod": [
        ("np", "the remainder of {a} divided by {b}"),
        ("np", "{a} mod {b}"),
        ("np", "{a} modulo {b}"),
        ("np", "the remainder when {a} is divided by {b}"),
        ("imp", "find the remainder of {a} divided by {b}"),
    ],
}
_OP_EXPR = {
    "add": "{a} + {b}",
    "sub": "{a} - {b}",
    "mul": "{a} * {b}",
    "div": "{a} / {b}",
    "pow": "{a} ^ {b}",
    "mod": "{a} % {b}",
}

_UNARY = [  # (kind, wording, expression)
    ("np", "{a} squared", "{a} ^ 2"),
    ("np", "{a} cubed", "{a} ^ 3"),
    ("imp", "square {a}", "{a} ^ 2"),
    ("imp", "cube {a}", "{a} ^ 3"),
    ("np", "the square of {a}", "{a} ^ 2"),
    ("np", "the cube of {a}", "{a} ^ 3"),
    ("np", "the square root of {a}", "sqrt({a})"),
    ("np", "square root of {a}", "sqrt({a})"),
    ("np", "the sqrt of {a}", "sqrt({a})"),
    ("imp", "take the square root of {a}", "sqrt({a})"),
    ("np", "the root of {a}", "sqrt({a})"),
    ("np", "half of {a}", "{a} / 2"),
    ("np", "half {a}", "{a} / 2"),
    ("np", "double {a}", "2 * {a}"),
    ("np", "twice {a}", "2 * {a}"),
    ("imp", "double {a}", "2 * {a}"),
    ("np", "triple {a}", "3 * {a}"),
    ("np", "a third of {a}", "{a} / 3"),
    ("np", "a quarter of {a}", "{a} / 4"),
    ("imp", "halve {a}", "{a} / 2"),
    ("np", "{a} doubled", "2 * {a}"),
    ("np", "{a} halved", "{a} / 2"),
    ("np", "one tenth of {a}", "{a} / 10"),
    ("np", "the absolute value of {a}", "abs({a})"),
    ("imp", "round {a}", "round({a})"),
    ("np", "{a} rounded", "round({a})"),
]
_PERCENT = [  # percent wordings: p% of a
    ("np", "{p}% of {a}"),
    ("np", "{p} percent of {a}"),
    ("np", "{p} per cent of {a}"),
    ("imp", "take {p}% of {a}"),
    ("imp", "find {p}% of {a}"),
    ("np", "{p}pct of {a}"),
    ("imp", "work out {p} percent of {a}"),
    ("np", "{p}% of a {a} bill"),
    ("np", "a {p}% tip on {a}"),
]
_LISTS = [  # sums and averages of 3-4 numbers
    ("np", "the sum of {l}", "sum"),
    ("np", "the total of {l}", "sum"),
    ("imp", "add up {l}", "sum"),
    ("imp", "add {l}", "sum"),
    ("np", "{l} added together", "sum"),
    ("imp", "sum up {l}", "sum"),
    ("np", "the average of {l}", "avg"),
    ("np", "the mean of {l}", "avg"),
    ("imp", "average {l}", "avg"),
    ("np", "the total of {l} combined", "sum"),
    ("np", "the arithmetic mean of {l}", "avg"),
    ("imp", "find the average of {l}", "avg"),
    ("np", "the product of {l}", "prod"),
    ("imp", "multiply {l}", "prod"),
]
# second step of a chain: (wording, op, operand placement)
_THEN = [
    ("and add {c}", "add"),
    ("then add {c}", "add"),
    (", then add {c}", "add"),
    ("and then add {c}", "add"),
    ("plus {c}", "add"),
    ("and subtract {c}", "sub"),
    ("then subtract {c}", "sub"),
    (", then subtract {c}", "sub"),
    ("minus {c}", "sub"),
    ("and multiply by {c}", "mul"),
    ("then multiply by {c}", "mul"),
    (", then multiply the result by {c}", "mul"),
    ("and divide by {c}", "div"),
    ("then divide by {c}", "div"),
    (", then divide the result by {c}", "div"),
    ("and take away {c}", "sub"),
    ("and then divide that by {c}", "div"),
    (", and add {c} to the result", "add"),
    ("and times it by {c}", "mul"),
    (", after that subtract {c}", "sub"),
]
_START = ["start with {a}, ", "take {a}, ", "begin with {a}, ", "start from {a}, ", "take {a} and "]
_FIRST = [  # first step after "start with a": (wording, op)
    ("add {b}", "add"),
    ("subtract {b}", "sub"),
    ("multiply it by {b}", "mul"),
    ("divide it by {b}", "div"),
    ("multiply by {b}", "mul"),
    ("divide by {b}", "div"),
    ("add {b} to it", "add"),
    ("take away {b}", "sub"),
    ("double it", "double"),
    ("halve it", "halve"),
    ("square it", "square"),
]


def _wrap(rng: random.Random, kind: str, x: str, split: str) -> str:
    template = rng.choice(_split(_CALC_NP if kind == "np" else _CALC_IMP, split))
    return template.replace("{X}", _cap(x)).replace("{x}", x)


def _operand(
    rng: random.Random, split: str, *, small: bool = False, words_p: float = 0.0, allow_decimal: bool = True
) -> tuple[str, str]:
    """(as written in the request, as written in the expression)."""
    if rng.random() < words_p:
        words = _number_words(split)
        n = rng.choice([k for k in words if k])
        return words[n], str(n)
    text = _rand_number(rng, small=small, allow_decimal=allow_decimal)
    return text, text


def _paren(expr: str) -> str:
    return f"({expr})" if any(op in expr for op in (" + ", " - ")) else expr


def _apply(op: str, left: str, right: str) -> str:
    if op in ("mul", "div", "pow", "mod"):
        left = _paren(left)
    return _OP_EXPR[op].format(a=left, b=right)


def _symbolic_expression(rng: random.Random, split: str) -> tuple[str, str]:
    """A random arithmetic expression as a user types it, and as the calculator gets it ('x' and '×' become '*',
    '÷' becomes '/')."""
    n_ops = rng.choices([1, 2, 3], weights=[5, 4, 2])[0]
    spaced = rng.random() < 0.65
    ops = ["+", "-", "*", "/", "*", "+", "-", "^", "%", "x", "×", "÷", "**"]
    ops_weights = [6, 5, 6, 5, 0, 0, 0, 1, 0.4, 1, 0.5, 0.4, 0.5]
    parts = [_rand_number(rng, allow_decimal=True)]
    for _ in range(n_ops):
        op = rng.choices(ops, weights=ops_weights)[0]
        while op in ("^", "**") and any(p in ("^", "**") for p in parts[1::2]):
            op = rng.choices(ops, weights=ops_weights)[0]
        if op in ("^", "**"):
            right = str(rng.randint(2, 6))
        else:
            right = _rand_number(rng, small=op in ("/", "÷", "%") and rng.random() < 0.5)
        parts += [op, right]
    # optional parentheses around the first two operands
    if n_ops >= 2 and rng.random() < 0.3:
        parts[0] = "(" + parts[0]
        parts[2] = parts[2] + ")"
    if rng.random() < 0.08:
        fn = rng.choice(["sqrt", "abs", "round"])
        parts[0] = f"{fn}({parts[0]})" if "(" not in parts[0] else parts[0]
    typed = ""
    for i, p in enumerate(parts):
        if i % 2 == 1:  # operator
            typed += f" {p} " if (spaced or p == "x") else p
        else:
            typed += p
    typed = typed.replace("  ", " ")
    expression = re.sub(r"(?<=[\d)]) x (?=[\d(])", " * ", typed)
    # tool arguments are decoded as ASCII (the grammar's cap on strings): the calculator gets * and /
    expression = expression.replace("×", "*").replace("÷", "/")
    return typed, expression


def gen_calculator(rng: random.Random, split: str) -> Task:
    r = rng.random()
    words_p = 0.12
    if r < 0.42:  # symbolic
        typed, expression = _symbolic_expression(rng, split)
        request = _wrap(rng, "np", typed, split)
        form = "symbolic"
    elif r < 0.62:  # one binary operation in words
        op = rng.choice(list(_OPS))
        kind, wording = rng.choice(_split(_OPS[op], split))
        a, ea = _operand(rng, split, words_p=words_p)
        b, eb = _operand(
            rng, split, small=op in ("pow", "div", "mod"), words_p=words_p, allow_decimal=op != "pow"
        )
        if op == "pow":
            b = eb = str(rng.randint(2, 8))
            wording = wording.replace("{b}th", {"2": "2nd", "3": "3rd"}.get(b, b + "th"))
        request = _wrap(rng, kind, wording.format(a=a, b=b), split)
        expression = _OP_EXPR[op].format(a=ea, b=eb)
        form = "words"
    elif r < 0.72:  # unary / percent
        if rng.random() < 0.6:
            kind, wording, expr = rng.choice(_split(_UNARY, split))
            a, ea = _operand(rng, split, words_p=words_p)
            if "sqrt" in expr and rng.random() < 0.5:
                root = rng.randint(2, 99)
                a = ea = str(root * root)
            request = _wrap(rng, kind, wording.format(a=a), split)
            expression = expr.format(a=ea)
        else:
            kind, wording = rng.choice(_split(_PERCENT, split))
            p = str(rng.choice([5, 10, 12, 15, 18, 20, 25, 30, 40, 50, 60, 75, rng.randint(1, 99)]))
            if rng.random() < 0.15:
                p = _num_text(rng.randint(1, 999) / 10, 1)
            a = _rand_number(rng)
            request = _wrap(rng, kind, wording.format(p=p, a=a), split)
            expression = f"{p} / 100 * {a}"
        form = "words"
    elif r < 0.8:  # lists
        kind, wording, agg = rng.choice(_split(_LISTS, split))
        n = rng.choice([2, 3, 3, 4]) if agg != "prod" else rng.choice([2, 3])
        written, values = zip(
            *[_operand(rng, split, small=agg == "prod", words_p=words_p) for _ in range(n)], strict=True
        )
        sep = ", "
        joined = sep.join(written[:-1]) + rng.choice([" and ", ", and ", " and "]) + written[-1]
        request = _wrap(rng, kind, wording.format(l=joined), split)
        if agg == "sum":
            expression = " + ".join(values)
        elif agg == "prod":
            expression = " * ".join(values)
        else:
            expression = f"({' + '.join(values)}) / {n}"
        form = "words"
    else:  # two-step chains: "multiply 250 by 4 and add 17", "start with 5, add 3, then multiply by 2"
        a, ea = _operand(rng, split, words_p=words_p)
        b, eb = _operand(rng, split, words_p=words_p, small=rng.random() < 0.5)
        c, ec = _operand(rng, split, words_p=words_p, small=rng.random() < 0.5)
        then, op2 = rng.choice(_split(_THEN, split))
        if rng.random() < 0.6:
            op1 = rng.choice(["add", "sub", "mul", "div"])
            kind, wording = rng.choice([w for w in _split(_OPS[op1], split) if w[0] == "imp"] or _OPS[op1])
            if kind == "np" and op1 in ("add", "sub") and op2 in ("mul", "div"):
                kind = "imp"  # "3 plus 4 times 2" is ambiguous: only imperatives chain there
            first = wording.format(a=a, b=b)
            e1 = _OP_EXPR[op1].format(a=ea, b=eb)
            joiner = "" if then.startswith(",") else " "
            text = first + joiner + then.format(c=c)
            if kind == "np" and then.startswith(("and", ",")):
                kind = "imp" if wording.split()[0] in ("add", "subtract", "multiply", "divide") else kind
        else:
            start = rng.choice(_split(_START, split))
            first, op1 = rng.choice(_split(_FIRST, split))
            special = {"double": "2 * {a}", "halve": "{a} / 2", "square": "{a} ^ 2"}
            if op1 in special:
                e1 = special[op1].format(a=ea)
            else:
                e1 = _OP_EXPR[op1].format(a=ea, b=eb)
            joiner = ", " if rng.random() < 0.5 else " "
            then_text = then.format(c=c).lstrip(", ")
            if not then_text.startswith(("then", "and", "after")):
                then_text = "then " + then_text
            text = start.format(a=a) + first.format(b=b) + joiner + then_text
            kind = "imp"
        expression = _apply(op2, e1, ec)
        request = _wrap(rng, kind, text, split)
        form = "chain"
    request = _noise(rng, request, split)
    return Task(
        skill="calculator",
        request=request,
        call={"name": "calculator", "arguments": {"expression": expression}},
        meta={"form": form},
    )


# -------------------------------------------------------------------------------------------- unit conversion

# unit symbol (as the tool reports it) -> spellings a user may write (all resolve to that unit in the tool)
_UNITS: dict[str, dict[str, list[str]]] = {
    "length": {
        "m": ["m", "meter", "meters", "metre", "metres"],
        "km": ["km", "kilometer", "kilometers", "kilometre", "kilometres", "kms"],
        "cm": ["cm", "centimeter", "centimeters", "centimetre", "centimetres"],
        "mm": ["mm", "millimeter", "millimeters", "millimetres"],
        "mi": ["mi", "mile", "miles"],
        "yd": ["yd", "yard", "yards", "yds"],
        "ft": ["ft", "foot", "feet"],
        "in": ["in", "inch", "inches"],
        "nmi": ["nmi", "nautical mile", "nautical miles"],
        "µm": ["micrometers", "microns", "µm", "um"],
        "nm": ["nm", "nanometers", "nanometres"],
    },
    "mass": {
        "kg": ["kg", "kilogram", "kilograms", "kilos", "kgs"],
        "g": ["g", "gram", "grams", "grammes"],
        "mg": ["mg", "milligram", "milligrams"],
        "t": ["t", "tonne", "tonnes", "metric tons"],
        "lb": ["lb", "lbs", "pound", "pounds"],
        "oz": ["oz", "ounce", "ounces"],
        "st": ["st", "stone", "stones"],
        "short ton": ["short tons", "US tons"],
        "µg": ["micrograms", "mcg"],
    },
    "volume": {
        "L": ["L", "l", "liter", "liters", "litre", "litres"],
        "mL": ["mL", "ml", "milliliter", "milliliters", "millilitres"],
        "gal": ["gal", "gallon", "gallons", "US gallons"],
        "imp gal": ["imperial gallons", "UK gallons"],
        "qt": ["qt", "quart", "quarts"],
        "pt": ["pt", "pint", "pints"],
        "cup": ["cup", "cups"],
        "fl oz": ["fl oz", "fluid ounce", "fluid ounces"],
        "tbsp": ["tbsp", "tablespoon", "tablespoons"],
        "tsp": ["tsp", "teaspoon", "teaspoons"],
        "m³": ["m3", "cubic meters", "cubic metres", "m³"],
        "cm³": ["cm3", "cc", "cubic centimeters"],
        "cL": ["cl", "centiliters", "centilitres"],
        "ft³": ["cubic feet", "ft3"],
        "in³": ["cubic inches", "in3"],
    },
    "time": {
        "s": ["s", "sec", "secs", "second", "seconds"],
        "ms": ["ms", "millisecond", "milliseconds"],
        "min": ["min", "mins", "minute", "minutes"],
        "h": ["h", "hr", "hrs", "hour", "hours"],
        "d": ["d", "day", "days"],
        "wk": ["week", "weeks", "wk", "wks"],
        "month": ["month", "months"],
        "yr": ["year", "years", "yr", "yrs"],
        "µs": ["microseconds", "µs"],
        "ns": ["nanoseconds", "ns"],
    },
    "speed": {
        "m/s": ["m/s", "meters per second", "metres per second", "mps"],
        "km/h": ["km/h", "kph", "kmh", "kilometers per hour", "kilometres per hour"],
        "mph": ["mph", "miles per hour", "mi/h"],
        "kn": ["knots", "kn", "kt", "knot"],
        "ft/s": ["ft/s", "feet per second", "fps"],
    },
    "area": {
        "m²": ["m2", "m²", "square meters", "square metres", "sq m"],
        "km²": ["km2", "km²", "square kilometers", "sq km"],
        "cm²": ["cm2", "square centimeters", "sq cm"],
        "ha": ["ha", "hectare", "hectares"],
        "acre": ["acre", "acres"],
        "ft²": ["sq ft", "square feet", "ft2", "ft²"],
        "in²": ["sq in", "square inches", "in2"],
        "yd²": ["square yards", "sq yd"],
        "mi²": ["square miles", "sq mi"],
        "mm²": ["square millimeters", "mm2"],
    },
    "temperature": {
        "°C": [
            "°C",
            "C",
            "celsius",
            "Celsius",
            "degrees Celsius",
            "degrees celsius",
            "deg C",
            "centigrade",
            "degC",
        ],
        "°F": [
            "°F",
            "F",
            "fahrenheit",
            "Fahrenheit",
            "degrees Fahrenheit",
            "degrees fahrenheit",
            "deg F",
            "degF",
        ],
        "K": ["K", "kelvin", "Kelvin", "kelvins"],
        "°R": ["rankine", "°R"],
    },
    "data": {
        "B": ["bytes", "B", "byte"],
        "bit": ["bits", "bit"],
        "kB": ["kB", "KB", "kilobytes", "kb"],
        "MB": ["MB", "megabytes", "mb"],
        "GB": ["GB", "gigabytes", "gb"],
        "TB": ["TB", "terabytes", "tb"],
        "KiB": ["KiB", "kibibytes"],
        "MiB": ["MiB", "mebibytes"],
        "GiB": ["GiB", "gibibytes"],
        "TiB": ["TiB", "tebibytes"],
        "Mbit": ["Mbit", "megabits"],
        "Gbit": ["Gbit", "gigabits"],
        "kbit": ["kbit", "kilobits"],
        "PB": ["PB", "petabytes"],
    },
}
# units people convert between most: drawn more often
_COMMON = {
    "km",
    "mi",
    "m",
    "ft",
    "in",
    "cm",
    "kg",
    "lb",
    "g",
    "oz",
    "L",
    "gal",
    "mL",
    "cup",
    "°C",
    "°F",
    "K",
    "h",
    "min",
    "s",
    "d",
    "km/h",
    "mph",
    "m/s",
    "m²",
    "ft²",
    "acre",
    "ha",
    "MB",
    "GB",
    "KiB",
    "MiB",
    "GiB",
    "TB",
    "yd",
}

_CONV = [
    "Convert {v} {u1} to {u2}",
    "convert {v} {u1} into {u2}",
    "Convert {v} {u1} in {u2}",
    "{v} {u1} to {u2}",
    "{v} {u1} in {u2}",
    "{v} {u1} in {u2}?",
    "{v} {u1} = ? {u2}",
    "{v} {u1} -> {u2}",
    "How many {u2} is {v} {u1}?",
    "How many {u2} are in {v} {u1}?",
    "how many {u2} in {v} {u1}",
    "How many {u2} make {v} {u1}?",
    "How many {u2} are there in {v} {u1}?",
    "What is {v} {u1} in {u2}?",
    "What's {v} {u1} in {u2}",
    "What is {v} {u1} expressed in {u2}?",
    "What is {v} {u1} converted to {u2}?",
    "{v} {u1} is how many {u2}?",
    "{v} {u1} equals how many {u2}?",
    "Express {v} {u1} in {u2}",
    "Change {v} {u1} to {u2}",
    "Turn {v} {u1} into {u2}",
    "I have {v} {u1}. How many {u2} is that?",
    "I have {v} {u1}, what is that in {u2}?",
    "If something is {v} {u1}, how many {u2} is it?",
    "Please convert {v} {u1} to {u2}",
    "Can you convert {v} {u1} to {u2}?",
    "Could you convert {v} {u1} into {u2} for me?",
    "{u1} to {u2}: {v}",
    "Convert from {u1} to {u2}: {v}",
    "What does {v} {u1} come to in {u2}?",
    "how much is {v} {u1} in {u2}",
    "{v} {u1} into {u2} please",
    "What are {v} {u1} in {u2}?",
    "Tell me {v} {u1} in {u2}",
    "I need {v} {u1} in {u2}",
    "{v} {u1} converted to {u2}",
    "What's {v} {u1} when converted to {u2}?",
    "how many {u2} is {v} {u1}",
    "Give me {v} {u1} in {u2}",
    "{v} {u1} in {u2}, please",
    "Convert {v} {u1} => {u2}",
    "{v} {u1} how many {u2}",
    "Switch {v} {u1} to {u2}",
    "Is {v} {u1} a lot? How many {u2} is it?",
    "what would {v} {u1} be in {u2}",
    "How many {u2} do {v} {u1} make?",
    "Could you tell me how many {u2} {v} {u1} is?",
    "{v} {u1} to {u2} conversion",
    "Convert this: {v} {u1} to {u2}",
    "I measured {v} {u1}. What's that in {u2}?",
    "Roughly how many {u2} is {v} {u1}?",
    "Do you know what {v} {u1} is in {u2}?",
    "Translate {v} {u1} into {u2}",
    "It says {v} {u1}; how much is that in {u2}?",
]
_CONV_ONE = [  # value 1 written as "a"/"one": (wording, user value text)
    "How many {u2} are in a {u1}?",
    "How many {u2} in one {u1}?",
    "how many {u2} is a {u1}",
    "What is one {u1} in {u2}?",
    "Convert one {u1} to {u2}",
    "How many {u2} make a {u1}?",
    "a {u1} in {u2}?",
    "How many {u2} are there in one {u1}?",
    "What's a {u1} in {u2}?",
    "1 {u1} is how many {u2}?",
]
_SINGULAR = {
    "kilometers": "kilometer",
    "miles": "mile",
    "meters": "meter",
    "feet": "foot",
    "inches": "inch",
    "pounds": "pound",
    "kilograms": "kilogram",
    "ounces": "ounce",
    "liters": "liter",
    "gallons": "gallon",
    "cups": "cup",
    "hours": "hour",
    "minutes": "minute",
    "days": "day",
    "weeks": "week",
    "years": "year",
    "yards": "yard",
    "acres": "acre",
    "hectares": "hectare",
    "grams": "gram",
    "tablespoons": "tablespoon",
    "teaspoons": "teaspoon",
    "pints": "pint",
    "quarts": "quart",
    "seconds": "second",
    "stones": "stone",
    "months": "month",
    "litres": "litre",
    "metres": "metre",
    "kilometres": "kilometre",
    "gigabytes": "gigabyte",
    "megabytes": "megabyte",
    "terabytes": "terabyte",
    "bytes": "byte",
}


def _unit_forms(symbol: str, dimension: str, split: str) -> list[str]:
    return _split(_UNITS[dimension][symbol], split)


def _conv_value(rng: random.Random, dimension: str) -> str:
    if dimension == "temperature":
        value = rng.choice(
            [rng.randint(-40, 45), rng.randint(0, 120), rng.randint(-10, 500), rng.randint(0, 40)]
        )
        text = str(value)
        if rng.random() < 0.2:
            text = _num_text(value + rng.randint(1, 9) / 10, 1)
        return text
    r = rng.random()
    if r < 0.3:
        value: float = rng.randint(1, 20)
    elif r < 0.6:
        value = rng.randint(2, 500)
    elif r < 0.8:
        value = rng.randint(100, 50000)
    else:
        value = rng.randint(1, 9999) / rng.choice([10, 100, 1000])
    return _num_text(value, 3 if not float(value).is_integer() else 0)


def ascii_unit(unit: str) -> str:
    """A unit as the model writes it in a tool call: ASCII, because the grammar caps decoded strings to ASCII
    ("°F" -> "F", "µs" -> "us", "m²" -> "m2"); the units tool knows these spellings."""
    return unit.replace("µ", "u").replace("²", "2").replace("³", "3").replace("°", "").strip()


def gen_convert(rng: random.Random, split: str) -> Task:
    dims = list(_UNITS)
    dimension = rng.choices(dims, weights=[5, 4, 3, 2, 2, 2, 4, 2])[0]
    symbols = list(_UNITS[dimension])
    weights = [4 if s in _COMMON else 1 for s in symbols]
    s1 = rng.choices(symbols, weights=weights)[0]
    s2 = s1
    while s2 == s1:
        s2 = rng.choices(symbols, weights=weights)[0]
    u1 = rng.choice(_unit_forms(s1, dimension, split))
    u2 = rng.choice(_unit_forms(s2, dimension, split))
    if rng.random() < 0.08 and u1 in set(_SINGULAR.values()) | set(_SINGULAR) and dimension != "temperature":
        singular = _SINGULAR.get(u1, u1)
        template = rng.choice(_split(_CONV_ONE, split))
        request = template.format(u1=singular, u2=u2)
        value_text, u1 = "1", singular
    else:
        value_text = _conv_value(rng, dimension)
        template = rng.choice(_split(_CONV, split))
        if len(u1) <= 3 and " " not in u1 and rng.random() < 0.3 and "{v} {u1}" in template:
            template = template.replace("{v} {u1}", "{v}{u1}")  # "5km", "100F"
        request = template.format(v=value_text, u1=u1, u2=u2)
    request = _noise(rng, request, split)
    args = {
        "value": _json_number(value_text),
        "from_unit": ascii_unit(as_written(request, u1)),
        "to_unit": ascii_unit(as_written(request, u2)),
    }
    return Task(
        skill="convert_units",
        request=request,
        call={"name": "convert_units", "arguments": args},
        meta={"dimension": dimension, "value_text": value_text},
    )


# ------------------------------------------------------------------------------------------------- the clock

# place as users name it -> IANA zone. The clock tool resolves places itself (cities, cities in another city's
# zone such as Mumbai -> Asia/Kolkata, one-zone countries), so the model copies the place as written; the zone
# here is what the eval checks the tool's reading against (tests check the tool resolves every place to it).
_PLACES: dict[str, str] = {
    "Tokyo": "Asia/Tokyo",
    "London": "Europe/London",
    "New York": "America/New_York",
    "Paris": "Europe/Paris",
    "Berlin": "Europe/Berlin",
    "Sydney": "Australia/Sydney",
    "Los Angeles": "America/Los_Angeles",
    "Chicago": "America/Chicago",
    "Singapore": "Asia/Singapore",
    "Moscow": "Europe/Moscow",
    "Dubai": "Asia/Dubai",
    "Hong Kong": "Asia/Hong_Kong",
    "Shanghai": "Asia/Shanghai",
    "Kolkata": "Asia/Kolkata",
    "Toronto": "America/Toronto",
    "Vancouver": "America/Vancouver",
    "Mexico City": "America/Mexico_City",
    "Sao Paulo": "America/Sao_Paulo",
    "Buenos Aires": "America/Argentina/Buenos_Aires",
    "Madrid": "Europe/Madrid",
    "Rome": "Europe/Rome",
    "Amsterdam": "Europe/Amsterdam",
    "Brussels": "Europe/Brussels",
    "Vienna": "Europe/Vienna",
    "Zurich": "Europe/Zurich",
    "Stockholm": "Europe/Stockholm",
    "Oslo": "Europe/Oslo",
    "Copenhagen": "Europe/Copenhagen",
    "Helsinki": "Europe/Helsinki",
    "Warsaw": "Europe/Warsaw",
    "Prague": "Europe/Prague",
    "Budapest": "Europe/Budapest",
    "Athens": "Europe/Athens",
    "Istanbul": "Europe/Istanbul",
    "Lisbon": "Europe/Lisbon",
    "Dublin": "Europe/Dublin",
    "Kyiv": "Europe/Kyiv",
    "Bucharest": "Europe/Bucharest",
    "Cairo": "Africa/Cairo",
    "Lagos": "Africa/Lagos",
    "Nairobi": "Africa/Nairobi",
    "Johannesburg": "Africa/Johannesburg",
    "Casablanca": "Africa/Casablanca",
    "Seoul": "Asia/Seoul",
    "Bangkok": "Asia/Bangkok",
    "Jakarta": "Asia/Jakarta",
    "Manila": "Asia/Manila",
    "Karachi": "Asia/Karachi",
    "Dhaka": "Asia/Dhaka",
    "Tehran": "Asia/Tehran",
    "Riyadh": "Asia/Riyadh",
    "Jerusalem": "Asia/Jerusalem",
    "Kathmandu": "Asia/Kathmandu",
    "Taipei": "Asia/Taipei",
    "Kuala Lumpur": "Asia/Kuala_Lumpur",
    "Ho Chi Minh": "Asia/Ho_Chi_Minh",
    "Melbourne": "Australia/Melbourne",
    "Brisbane": "Australia/Brisbane",
    "Perth": "Australia/Perth",
    "Adelaide": "Australia/Adelaide",
    "Auckland": "Pacific/Auckland",
    "Honolulu": "Pacific/Honolulu",
    "Anchorage": "America/Anchorage",
    "Denver": "America/Denver",
    "Phoenix": "America/Phoenix",
    "Halifax": "America/Halifax",
    "Bogota": "America/Bogota",
    "Lima": "America/Lima",
    "Santiago": "America/Santiago",
    "Caracas": "America/Caracas",
    "Havana": "America/Havana",
    "Reykjavik": "Atlantic/Reykjavik",
    "Tashkent": "Asia/Tashkent",
    "Baghdad": "Asia/Baghdad",
    "Kabul": "Asia/Kabul",
    "Colombo": "Asia/Colombo",
    "Yangon": "Asia/Yangon",
    "Almaty": "Asia/Almaty",
    "Vladivostok": "Asia/Vladivostok",
    "Fiji": "Pacific/Fiji",
    "Accra": "Africa/Accra",
    "Addis Ababa": "Africa/Addis_Ababa",
    "Tunis": "Africa/Tunis",
    "Algiers": "Africa/Algiers",
    "Kinshasa": "Africa/Kinshasa",
    "Montevideo": "America/Montevideo",
    "Panama": "America/Panama",
    "Winnipeg": "America/Winnipeg",
    "Edmonton": "America/Edmonton",
    "Belgrade": "Europe/Belgrade",
    "Sofia": "Europe/Sofia",
    "Riga": "Europe/Riga",
    "Vilnius": "Europe/Vilnius",
    "Tallinn": "Europe/Tallinn",
    "Minsk": "Europe/Minsk",
    "Luxembourg": "Europe/Luxembourg",
    "Monaco": "Europe/Monaco",
    "Malta": "Europe/Malta",
    "Baku": "Asia/Baku",
    "Tbilisi": "Asia/Tbilisi",
    "Yerevan": "Asia/Yerevan",
    "Qatar": "Asia/Qatar",
    "Kuwait": "Asia/Kuwait",
    "Muscat": "Asia/Muscat",
    "Hanoi": "Asia/Bangkok",
    "Macau": "Asia/Macau",
    "Ulaanbaatar": "Asia/Ulaanbaatar",
    "Detroit": "America/Detroit",
    "Puerto Rico": "America/Puerto_Rico",
    # cities and countries named differently from their zone
    "Mumbai": "Asia/Kolkata",
    "Delhi": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Bangalore": "Asia/Kolkata",
    "Beijing": "Asia/Shanghai",
    "San Francisco": "America/Los_Angeles",
    "Seattle": "America/Los_Angeles",
    "Boston": "America/New_York",
    "Washington": "America/New_York",
    "Miami": "America/New_York",
    "Atlanta": "America/New_York",
    "Dallas": "America/Chicago",
    "Houston": "America/Chicago",
    "Las Vegas": "America/Los_Angeles",
    "Montreal": "America/Toronto",
    "Rio de Janeiro": "America/Sao_Paulo",
    "Munich": "Europe/Berlin",
    "Hamburg": "Europe/Berlin",
    "Frankfurt": "Europe/Berlin",
    "Milan": "Europe/Rome",
    "Barcelona": "Europe/Madrid",
    "Manchester": "Europe/London",
    "Edinburgh": "Europe/London",
    "Geneva": "Europe/Zurich",
    "Osaka": "Asia/Tokyo",
    "Kyoto": "Asia/Tokyo",
    "Abu Dhabi": "Asia/Dubai",
    "Cape Town": "Africa/Johannesburg",
    "Japan": "Asia/Tokyo",
    "France": "Europe/Paris",
    "Germany": "Europe/Berlin",
    "Italy": "Europe/Rome",
    "Spain": "Europe/Madrid",
    "India": "Asia/Kolkata",
    "China": "Asia/Shanghai",
    "the UK": "Europe/London",
    "England": "Europe/London",
    "Ireland": "Europe/Dublin",
    "South Korea": "Asia/Seoul",
    "Korea": "Asia/Seoul",
    "Thailand": "Asia/Bangkok",
    "Egypt": "Africa/Cairo",
    "Kenya": "Africa/Nairobi",
    "Nigeria": "Africa/Lagos",
    "Turkey": "Europe/Istanbul",
    "Greece": "Europe/Athens",
    "Poland": "Europe/Warsaw",
    "Sweden": "Europe/Stockholm",
    "Norway": "Europe/Oslo",
    "Finland": "Europe/Helsinki",
    "Portugal": "Europe/Lisbon",
    "the Netherlands": "Europe/Amsterdam",
    "Belgium": "Europe/Brussels",
    "Austria": "Europe/Vienna",
    "Switzerland": "Europe/Zurich",
    "Israel": "Asia/Jerusalem",
    "Iran": "Asia/Tehran",
    "Pakistan": "Asia/Karachi",
    "Bangladesh": "Asia/Dhaka",
    "Nepal": "Asia/Kathmandu",
    "Vietnam": "Asia/Ho_Chi_Minh",
    "Indonesia": "Asia/Jakarta",
    "the Philippines": "Asia/Manila",
    "Peru": "America/Lima",
    "Colombia": "America/Bogota",
    "Argentina": "America/Argentina/Buenos_Aires",
    "Iceland": "Atlantic/Reykjavik",
    "Hawaii": "Pacific/Honolulu",
    "Alaska": "America/Anchorage",
    "New Zealand": "Pacific/Auckland",
    "Singapore city": "Asia/Singapore",
    "Taiwan": "Asia/Taipei",
    "Saudi Arabia": "Asia/Riyadh",
    "Ukraine": "Europe/Kyiv",
    "Czechia": "Europe/Prague",
    "Hungary": "Europe/Budapest",
    "Denmark": "Europe/Copenhagen",
    "Cuba": "America/Havana",
}
_UTC_NAMES = ["UTC", "GMT", "utc", "Zulu time", "Coordinated Universal Time"]

_TIME_PLACE = [
    "What time is it in {p}?",
    "what's the time in {p}",
    "What is the current time in {p}?",
    "Current time in {p}",
    "time in {p}?",
    "Tell me the time in {p}.",
    "What time is it now in {p}?",
    "What's the local time in {p}?",
    "Do you know what time it is in {p}?",
    "Can you tell me the time in {p}?",
    "What's the date in {p}?",
    "What day is it in {p}?",
    "What's the date and time in {p}?",
    "What time is it right now in {p}?",
    "Is it late in {p}? What time is it there?",
    "Check the time in {p}",
    "Get me the current time for {p}",
    "clock in {p}?",
    "How late is it in {p}?",
    "{p} time?",
    "{p} time now",
    "Time in {p} please",
    "What's the time over in {p}?",
    "I'd like to know the time in {p}",
    "What hour is it in {p}?",
    "current local time {p}",
    "What time do they have in {p}?",
    "what time is it in {p} right now?",
    "Could you look up the time in {p}?",
    "Now in {p}: what time?",
    "My friend is in {p}. What time is it there?",
    "I'm calling someone in {p}, what time is it there?",
    "What's the current date in {p}?",
    "Local time, {p}?",
    "Is it morning in {p}? What's the time there?",
    "time now in {p}",
    "Show me the time in {p}",
    "Tell me what time it is in {p}",
    "What is today's date in {p}?",
    "Give me the local time in {p}",
    "Please check what time it is in {p}",
    "How about the time in {p}?",
    "What's the clock saying in {p}?",
    "What time is it currently in {p}?",
    "In {p}, what time is it?",
    "{p}: current time?",
]
_TIME_BARE = [
    "What time is it?",
    "What's the time?",
    "What is the current time?",
    "What's today's date?",
    "What day is it today?",
    "Tell me the time",
    "Current time?",
    "time?",
    "What's the date?",
    "What time is it now?",
    "Do you have the time?",
    "What's the date today?",
    "What is the date and time?",
    "Can you tell me the time?",
    "What's the time right now?",
    "Which day is today?",
    "What year is it?",
    "Date and time please",
    "What's the current date and time?",
    "Got the time?",
    "What time is it at the moment?",
]
_TIME_UTC = [
    "What time is it in {u}?",
    "What's the {u} time?",
    "Current {u} time?",
    "Tell me the time in {u}",
    "{u} time now",
    "What is the time in {u} right now?",
    "Give me the current time in {u}.",
]


def gen_time(rng: random.Random, split: str) -> Task:
    r = rng.random()
    if r < 0.8:
        place = rng.choice(list(_PLACES))
        zone = _PLACES[place]
        request = rng.choice(_split(_TIME_PLACE, split)).format(p=place)
    elif r < 0.9:
        place, zone = rng.choice(_split(_UTC_NAMES, split)), "UTC"
        request = rng.choice(_split(_TIME_UTC, split)).format(u=place)
    else:
        place, zone = "", "UTC"
        request = rng.choice(_split(_TIME_BARE, split))
    request = _noise(rng, request, split, upper=True)
    argument = as_written(request, place) if place else "UTC"  # the place as written: the tool resolves it
    return Task(
        skill="current_time",
        request=request,
        call={"name": "current_time", "arguments": {"timezone": argument}},
        expected=zone,
        meta={"place": place},
    )


# ---------------------------------------------------------------------------------------------------- notes

_NAMES = [
    "Anna",
    "Tom",
    "Maria",
    "Ben",
    "Sara",
    "Li",
    "Omar",
    "Julia",
    "Ken",
    "Priya",
    "Lucas",
    "Emma",
    "Noah",
    "Mia",
    "Ravi",
    "Chen",
    "Fatima",
    "Leo",
    "Nina",
    "Ivan",
    "Zoe",
    "Carlos",
    "Hana",
    "Pete",
    "Grace",
    "Yuki",
    "Ahmed",
    "Olga",
    "Sam",
    "Dana",
    "Marco",
    "Elena",
    "Jonas",
    "Aisha",
    "Felix",
    "Rosa",
]
_WORDS = [
    "tulip",
    "orange",
    "falcon",
    "river",
    "cobalt",
    "maple",
    "sunset",
    "pepper",
    "violet",
    "tiger",
    "harbor",
    "lemon",
    "marble",
    "rocket",
    "cedar",
    "velvet",
    "copper",
    "meadow",
    "bison",
    "coral",
    "willow",
    "zebra",
    "ember",
    "glacier",
    "sparrow",
    "nectar",
    "quartz",
    "thistle",
    "pine",
    "amber",
    "onyx",
    "breeze",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_PLACES_SMALL = [
    "the top drawer",
    "the blue box",
    "the kitchen cabinet",
    "the garage",
    "the car",
    "my backpack",
    "the hall closet",
    "the bookshelf",
    "the desk",
    "the red folder",
    "the basement",
    "the attic",
    "the glovebox",
    "my office",
    "the shed",
    "the nightstand",
]


def _code(rng: random.Random) -> str:
    return str(rng.randint(1000, 99999))


def _password(rng: random.Random) -> str:
    word = rng.choice(_WORDS)
    return word + str(rng.randint(1, 999)) if rng.random() < 0.7 else f"{word}-{rng.choice(_WORDS)}"


def _date(rng: random.Random) -> str:
    return f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}"


def _clock(rng: random.Random) -> str:
    hour = rng.randint(1, 12)
    return rng.choice(
        [
            f"{hour}pm",
            f"{hour}am",
            f"{hour}:{rng.choice(['00', '15', '30', '45'])}",
            f"{hour} o'clock",
            f"{rng.randint(7, 20)}:{rng.choice(['00', '30'])}",
        ]
    )


def _phone(rng: random.Random) -> str:
    return f"555-{rng.randint(0, 9999):04d}"


# (owner-able thing, value maker, query-word form): "my locker code is 4512"
_THINGS: list[tuple[str, Any]] = [
    ("locker code", _code),
    ("door code", _code),
    ("bike lock combination", _code),
    ("PIN for the office", _code),
    ("wifi password", _password),
    ("router password", _password),
    ("alarm code", _code),
    ("safe combination", _code),
    ("hotel room number", lambda r: str(r.randint(100, 999))),
    ("flight number", lambda r: f"{r.choice(['BA', 'LH', 'AF', 'UA', 'KL'])}{r.randint(100, 9999)}"),
    ("seat number", lambda r: f"{r.randint(1, 40)}{r.choice('ABCDEF')}"),
    ("parking spot", lambda r: f"{r.choice('ABCDEFG')}{r.randint(1, 99)}"),
    (
        "license plate",
        lambda r: (
            f"{r.choice(['KX', 'AB', 'LM', 'ZT'])}{r.randint(10, 99)} {r.choice(['ABC', 'XYZ', 'QRT'])}"
        ),
    ),
    ("membership number", lambda r: str(r.randint(100000, 999999))),
    ("order number", lambda r: str(r.randint(10000, 999999))),
    ("account number", lambda r: str(r.randint(1000000, 9999999))),
    ("shoe size", lambda r: str(r.randint(36, 46))),
    ("blood type", lambda r: r.choice(["A+", "B-", "O+", "AB+", "O-"])),
    ("favorite color", lambda r: r.choice(["green", "teal", "purple", "navy blue"])),
    ("meeting room", lambda r: f"{r.choice('ABCD')}{r.randint(100, 499)}"),
    ("gate number", lambda r: f"{r.choice('ABCDE')}{r.randint(1, 40)}"),
    ("table number", lambda r: str(r.randint(1, 60))),
    ("project code name", lambda r: r.choice(_WORDS).capitalize()),
    ("server IP", lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"),
    ("tracking number", lambda r: f"1Z{r.randint(100000, 999999)}"),
    ("budget", lambda r: f"{r.randint(2, 90) * 100} dollars"),
    ("rent", lambda r: f"{r.randint(6, 30) * 100} euros"),
    ("phone number", _phone),
    ("birthday", _date),
    ("dentist appointment", lambda r: f"on {_date(r)} at {_clock(r)}"),
    ("doctor's appointment", lambda r: f"on {rng_day(r)} at {_clock(r)}"),
    ("team meeting", lambda r: f"at {_clock(r)} on {rng_day(r)}"),
    ("deadline", lambda r: rng_day(r) if r.random() < 0.5 else _date(r)),
    ("train", lambda r: f"at {_clock(r)}"),
    ("haircut", lambda r: f"on {rng_day(r)} at {_clock(r)}"),
    ("anniversary", _date),
    ("vet appointment", lambda r: f"on {_date(r)}"),
    ("spare key", lambda r: f"in {r.choice(_PLACES_SMALL)}"),
    ("passport", lambda r: f"in {r.choice(_PLACES_SMALL)}"),
    ("charger", lambda r: f"in {r.choice(_PLACES_SMALL)}"),
    ("umbrella", lambda r: f"in {r.choice(_PLACES_SMALL)}"),
    ("tax documents", lambda r: f"in {r.choice(_PLACES_SMALL)}"),
    ("car", lambda r: f"on level {r.randint(1, 9)}"),
    ("bike", lambda r: f"behind {r.choice(['the station', 'the library', 'the gym'])}"),
]


def rng_day(rng: random.Random) -> str:
    return rng.choice(_DAYS)


def _owner(rng: random.Random, thing: str) -> str:
    if thing in ("phone number", "birthday") or rng.random() < 0.2:
        return rng.choice(_NAMES) + "'s"
    return rng.choice(["my", "my", "the", "our"])


_SYLLABLES = (
    [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    + ["sh" + v for v in "aeiou"]
    + ["ch" + v for v in "aeiou"]
)
_ADJECTIVES = [
    "spare",
    "new",
    "old",
    "blue",
    "red",
    "garden",
    "office",
    "school",
    "kitchen",
    "backup",
    "main",
    "second",
    "guest",
    "secret",
    "front",
    "back",
    "summer",
    "winter",
    "work",
    "home",
    "travel",
    "family",
    "basement",
]
_NOUNS = [
    "key",
    "code",
    "password",
    "box",
    "plan",
    "book",
    "ticket",
    "card",
    "number",
    "name",
    "address",
    "tool",
    "lamp",
    "bag",
    "file",
    "folder",
    "drawer",
    "shelf",
    "cabinet",
    "phone",
    "laptop",
    "jacket",
    "ring",
    "map",
    "badge",
    "remote",
    "helmet",
    "wallet",
    "notebook",
    "recipe",
    "coupon",
    "voucher",
    "pin",
    "login",
    "handle",
]


def pseudo_word(rng: random.Random) -> str:
    """A made-up word ("tamoli"): note facts built from these cannot be memorised, only copied."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))


def _free_thing(rng: random.Random) -> tuple[str, Any]:
    """A thing and value outside the fixed list: real or made-up words, so the model learns to copy any text."""
    noun = rng.choice(_NOUNS) if rng.random() < 0.6 else pseudo_word(rng)
    thing = f"{rng.choice(_ADJECTIVES)} {noun}" if rng.random() < 0.6 else noun

    def value(r: random.Random) -> str:
        kind = r.random()
        if kind < 0.35:
            return pseudo_word(r) + (str(r.randint(1, 999)) if r.random() < 0.5 else "")
        if kind < 0.6:
            return f"{r.choice(['in', 'under', 'behind', 'on'])} the {r.choice(_NOUNS + [pseudo_word(r)])}"
        if kind < 0.8:
            return str(r.randint(10, 99999))
        return f"{pseudo_word(r).capitalize()} {pseudo_word(r).capitalize()}"

    return thing, value


def note_fact(rng: random.Random) -> tuple[str, str, str, str]:
    """(fact text, subject with owner, query words, key value): ("my locker code is 4512", "my locker code", ...)."""
    thing, make = _free_thing(rng) if rng.random() < 0.4 else rng.choice(_THINGS)
    owner = _owner(rng, thing)
    value = make(rng)
    subject = f"{owner} {thing}"
    verb = "are" if thing.endswith("documents") else "is"
    if value.startswith(("on ", "at ", "in ", "behind ")):
        fact = f"{subject} {verb} {value}"
    else:
        fact = rng.choice([f"{subject} {verb} {value}", f"{subject} {verb} {value}", f"{subject}: {value}"])
    query = thing if owner in ("my", "the", "our") else subject
    return fact, subject, query, value


_WRITE = [
    "Remember that {f}",
    "Please remember that {f}",
    "remember: {f}",
    "Note that {f}",
    "Make a note that {f}",
    "Make a note: {f}",
    "Take a note: {f}",
    "Save a note: {f}",
    "Save this: {f}",
    "Write down that {f}",
    "Please write down {f}",
    "Jot down that {f}",
    "Note: {f}",
    "Don't forget that {f}",
    "Keep in mind that {f}",
    "For the record, {f}",
    "Store this for later: {f}",
    "Add a note that {f}",
    "Remember this: {f}",
    "Could you note that {f}?",
    "I want you to remember that {f}",
    "Please note: {f}",
    "Can you remember that {f}?",
    "Save the fact that {f}",
    "Log this: {f}",
    "New note: {f}",
    "Remember {f}",
    "Put this in my notes: {f}",
    "Write a note saying {f}",
    "Memo: {f}",
    "Please save a note that {f}",
    "Could you make a note: {f}",
    "Record that {f}",
    "Keep a note: {f}",
    "Save for later: {f}",
    "Add to my notes: {f}",
    "Note for later: {f}",
]
_SEARCH_SUBJECT = [  # use the subject ("my locker code")
    "What is {s}?",
    "What's {s}?",
    "what was {s} again?",
    "Do you remember {s}?",
    "Remind me of {s}",
    "What did I say {s} was?",
    "Can you tell me {s}?",
    "I forgot {s}. What is it?",
    "Tell me {s}",
    "What's {s} again?",
    "Find {s} in my notes",
    "Look up {s}",
    "Do you know {s}?",
    "Remind me what {s} is",
    "What did I note as {s}?",
]
_SEARCH_QUERY = [  # use the query words ("locker code")
    "What did I note about {q}?",
    "Search my notes for {q}",
    "Look up {q} in my notes",
    "Find my note about {q}",
    "Do I have a note about {q}?",
    "Check my notes: {q}",
    "What do my notes say about {q}?",
    "Any notes on {q}?",
    "Search notes: {q}",
    "Find the note on {q}",
    "What did I save about {q}?",
    "Check my notes for the {q}",
    "Look in my notes for {q}",
    "What did I write down about {q}?",
    "Did I note anything about {q}?",
    "Retrieve my note about {q}",
    "Search for {q} in my notes",
    "What was in my note about {q}?",
]


def any_note(rng: random.Random, split: str) -> NoteFact:
    """A note of any kind: "my X is Y" facts (tasks.py), to-dos and statements (note_facts.py)."""
    r = rng.random()
    if r < 0.4:
        fact, subject, query, value = note_fact(rng)
        return NoteFact(fact, subject, query, value, personal_questions(subject, value))
    if r < 0.6:
        return note_todo(rng)
    if r < 0.8:
        return note_statement(rng)
    return note_long(rng)


_TODO_WRITE = [
    "Don't let me forget to {f}",
    "Remember to {f}",
    "To do: {f}",
    "Todo - {f}",
    "Add to my to-do list: {f}",
    "I have to {f}",
    "Note that I need to {f}",
    "Remind me to {f}",
]


def write_request(rng: random.Random, note: NoteFact, split: str) -> str:
    """A request to save `note`, in one of many styles, with surface noise."""
    r = rng.random()
    if note.text == note.key and " " in note.text and r < 0.25:  # a to-do
        template = rng.choice(_split(_TODO_WRITE, split))
    elif r < 0.6:
        template = rng.choice(_split(WRITE_STYLES, split))
    else:
        template = rng.choice(_split(_WRITE, split))
    return _noise(rng, template.format(f=note.text), split, suffix_p=0.15)


def gen_write_note(rng: random.Random, split: str) -> Task:
    while True:
        note = any_note(rng, split)
        request = write_request(rng, note, split)
        fact = as_written(request, note.text)
        if is_quote(fact, request):  # the argument is quoted from the request: it must be a span of it
            break
    return Task(
        skill="write_note",
        request=request,
        call={"name": "write_note", "arguments": {"text": fact}},
        expected=fact,
        meta={"subject": note.subject, "query": note.query, "key": note.key, "questions": note.questions},
    )


def search_request(
    rng: random.Random, subject: str, query: str, split: str, questions: list[str] | None = None
) -> str:
    r = rng.random()
    if questions and r < 0.5:
        text = rng.choice(_split(questions, split) or questions)
    elif r < 0.5 and not questions:
        template = rng.choice(_split(_SEARCH_SUBJECT, split))
        text = template.format(s=subject)
    else:
        template = rng.choice(_split(_SEARCH_QUERY, split))
        text = template.format(q=query)
    return _noise(rng, text, split, suffix_p=0.05)


def gen_search_note(rng: random.Random, split: str, *, n_distractors: int | None = None) -> Task:
    note = any_note(rng, split)
    fact, subject, query, value = note.text, note.subject, note.query, note.key
    n = rng.choice([0, 1, 1, 2, 3]) if n_distractors is None else n_distractors
    distractors = []
    while len(distractors) < n:
        other = any_note(rng, split)
        if other.query != query and not set(other.query.lower().split()) & set(query.lower().split()):
            distractors.append(other.text)
    stored = list(distractors)
    present = rng.random() < 0.9 or n_distractors is not None
    if present:
        stored.insert(rng.randint(0, len(stored)), fact)
    request = search_request(rng, subject, query, split, note.questions)
    return Task(
        skill="search_notes",
        request=request,
        call={"name": "search_notes", "arguments": {"query": as_written(request, query), "limit": 1}},
        expected=fact if present else None,
        setup=stored,
        meta={"key": value, "subject": subject},
    )


# ----------------------------------------------------------------------------------------------- out of scope

OUT_OF_SCOPE = [
    "What's the weather like tomorrow?",
    "Translate 'hello' into Spanish",
    "Tell me a joke",
    "Write a poem about the sea",
    "Send an email to my boss",
    "Book a flight to Rome",
    "Who won the World Cup in 2018?",
    "Play some music",
    "What is the capital of Australia?",
    "Order a pizza",
    "Call my mother",
    "Write me a Python script",
    "Summarize this article for me",
    "What's the meaning of life?",
    "Turn off the lights",
    "Set an alarm for 7am",
    "Who is the president of France?",
    "Recommend a good movie",
    "How do I bake bread?",
    "What's the stock price of Apple?",
    "Draw a cat",
    "Give me directions to the airport",
    "Is it going to rain today?",
    "What's the news today?",
    "Find me a restaurant nearby",
    "Explain quantum physics",
    "Text Sarah that I'm running late",
    "Open my calendar",
    "What's your favorite color?",
    "Sing a song",
    "Write a story about a dragon",
    "How tall is Mount Everest?",
    "Reserve a hotel room in Berlin",
    "Delete all my emails",
    "What's the exchange rate of the euro?",
    "Who wrote Hamlet?",
    "Buy me new shoes",
    "How do I fix my bike?",
    "What should I cook for dinner?",
    "Check my bank balance",
    "Post this on Twitter",
    "Who are you?",
    "hello",
    "hi",
    "thanks!",
    "Thank you",
    "Good morning",
    "asdfghjkl",
    "?",
    "ok",
    "Can you see this picture?",
    "Start a timer for 10 minutes",
    "Translate 'thank you' into Japanese",
    "How many people live in Tokyo?",
    "When was Einstein born?",
    "What is love?",
    "Write a haiku",
    "Compose an email to the team",
    "What's trending right now?",
    "Wie spät ist es in Berlin?",
    "Quelle est la capitale de l'Italie ?",
    "¿Qué tiempo hace hoy?",
    "Was ist die Hauptstadt von Spanien?",
    "Peux-tu m'aider avec mes devoirs ?",
    "¿Cómo estás?",
    "Wie geht es dir?",
    "Come si dice ciao in inglese?",
    "Bom dia, tudo bem?",
    "今何時ですか？",
    "你好，你是谁？",
    "Привет, как дела?",
    "Kannst du mir einen Witz erzählen?",
    "Écris un poème sur la mer",
    "Qual è il tuo nome?",
    "天気はどうですか？",
    "Merci beaucoup",
    "Danke schön",
    "¿Dónde está la biblioteca?",
    "Ile to jest?",
    "Hoe laat is het?",
    "Wat is je naam?",
    "Hvad hedder du?",
    "Jak się masz?",
    "Где находится Москва?",
    "我想订一张机票",
]
_OOS_ANSWERS = [
    "Sorry, I can't help with that. I can do arithmetic, unit conversions, the current time and notes.",
]


def gen_out_of_scope(rng: random.Random, split: str) -> Task:
    """A request no tool serves: the short list above, or composed by scope.py (most of them)."""
    from scope import gen_out_of_scope_request

    if rng.random() < 0.15:
        request = rng.choice(_split(OUT_OF_SCOPE, split))
        if rng.random() < 0.3 and request[0].isascii():
            request = _noise(rng, request, split, upper=True)
    else:
        request = gen_out_of_scope_request(rng, split)
    return Task(skill="out_of_scope", request=request, call=None)


# ---------------------------------------------------------------------------------------------------- errors


def gen_error(rng: random.Random, split: str) -> Task:
    """Requests whose tool call fails (division by zero, incompatible or unknown units): answer with the error."""
    r = rng.random()
    if r < 0.35:
        a = _rand_number(rng)
        expression = rng.choice([f"{a} / 0", f"{a}/0", f"{a} % 0", f"({a} - {a}) / ({a} - {a})"])
        request = _noise(rng, _wrap(rng, "np", expression, split), split)
        return Task(
            skill="calculator",
            request=request,
            call={"name": "calculator", "arguments": {"expression": expression}},
            meta={"error": True},
        )
    if r < 0.75:
        d1, d2 = rng.sample(list(_UNITS), 2)
        u1 = rng.choice(_unit_forms(rng.choice(list(_UNITS[d1])), d1, split))
        u2 = rng.choice(_unit_forms(rng.choice(list(_UNITS[d2])), d2, split))
    else:
        d1 = rng.choice(list(_UNITS))
        u1 = rng.choice(
            [
                "blorps",
                "zorks",
                "glimmers",
                "parsecs",
                "furlongs",
                "cubits",
                "leagues",
                "smoots",
                "spans",
                "hands",
                "chains",
                "rods",
                "pecks",
                "bushels",
                "grains",
                "carats",
                "barrels",
                "fathoms",
            ]
        )
        u2 = rng.choice(_unit_forms(rng.choice(list(_UNITS[d1])), d1, split))
        if rng.random() < 0.5:
            u1, u2 = u2, u1
    value_text = _conv_value(rng, "length")
    request = _noise(rng, rng.choice(_split(_CONV, split)).format(v=value_text, u1=u1, u2=u2), split)
    args = {
        "value": _json_number(value_text),
        "from_unit": ascii_unit(as_written(request, u1)),
        "to_unit": ascii_unit(as_written(request, u2)),
    }
    return Task(
        skill="convert_units",
        request=request,
        call={"name": "convert_units", "arguments": args},
        meta={"error": True},
    )


# ---------------------------------------------------------------------------------------------------- mixes

GENERATORS = {
    "calculator": gen_calculator,
    "convert_units": gen_convert,
    "current_time": gen_time,
    "write_note": gen_write_note,
    "search_notes": gen_search_note,
    "out_of_scope": gen_out_of_scope,
    "error": gen_error,
}
TRAIN_MIX = {
    "calculator": 0.32,
    "convert_units": 0.19,
    "current_time": 0.09,
    "write_note": 0.15,
    "search_notes": 0.13,
    "out_of_scope": 0.08,
    "error": 0.04,
}

#: Hand-written eval sets (never trained on): requests in them are kept out of the training tasks.
EVAL_DIR = Path(__file__).resolve().parent / "eval"
HELD_OUT_FILES = (
    Path(__file__).resolve().parent / "paraphrases.jsonl",
    EVAL_DIR / "notes.jsonl",
    EVAL_DIR / "out_of_scope.jsonl",
)


def request_key(request: str) -> str:
    """What two requests must differ in to count as different: their words, case and punctuation ignored."""
    words = re.findall(r"\w+", request.lower())
    return " ".join(words) if words else normalise(request)


def held_out_requests() -> list[str]:
    """Every request of the hand-written eval sets (`HELD_OUT_FILES`)."""
    out: list[str] = []
    for path in HELD_OUT_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out += [row[k] for k in ("request", "write", "search") if row.get(k)]
    return out


def check_held_out(requests: set[str] | list[str]) -> None:
    """Raise `ValueError` naming them if any hand-written eval request is among `requests` (case, punctuation
    and spacing ignored): the eval sets must stay unseen."""
    keys = {request_key(r) for r in requests}
    leaked = sorted({r for r in held_out_requests() if request_key(r) in keys})
    if leaked:
        raise ValueError(f"{len(leaked)} held-out eval requests occur in the training tasks: {leaked[:10]}")


def training_tasks(seed: int, n: int) -> list[Task]:
    """The training tasks (deterministic in `seed`, `n`). A task whose request equals a hand-written eval
    request (`request_key`) is drawn again, so the eval sets stay unseen."""
    rng = random.Random(seed)
    kinds = list(TRAIN_MIX)
    weights = [TRAIN_MIX[k] for k in kinds]
    held_out = {request_key(r) for r in held_out_requests()}
    out: list[Task] = []
    while len(out) < n:
        task = GENERATORS[rng.choices(kinds, weights=weights)[0]](rng, "train")
        if request_key(task.request) not in held_out:
            out.append(task)
    check_held_out([t.request for t in out])
    return out


def training_requests(seed: int, n: int) -> set[str]:
    return {t.request for t in training_tasks(seed, n)}


def normalise(request: str) -> str:
    return " ".join(request.lower().split())


def note_pair(rng: random.Random, split: str) -> tuple[Task, str]:
    """A write_note task and a later request that needs that note back (eval of the notes skill)."""
    task = gen_write_note(rng, split)
    meta = task.meta
    return task, search_request(rng, meta["subject"], meta["query"], split, meta.get("questions"))


def eval_tasks(skill: str, n: int, *, seed: int, exclude: set[str]) -> list[Task]:
    """`n` held-out tasks of `skill` (all wordings incl. held-out ones; none equal to a training request)."""
    rng = random.Random(f"eval-{skill}-{seed}")
    excluded = {normalise(r) for r in exclude}
    out: list[Task] = []
    seen: set[str] = set()
    while len(out) < n:
        if skill == "notes":
            task, later = note_pair(rng, "eval")
            task.meta["search_request"] = later
            keys = [normalise(task.request), normalise(later)]
        else:
            task = GENERATORS[skill](rng, "eval")
            keys = [normalise(task.request)]
        if any(k in excluded for k in keys) or keys[0] in seen:
            continue
        key = keys[0]
        seen.add(key)
        out.append(task)
    return out
