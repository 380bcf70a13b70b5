"""Grounded answers (agentflow/decoding/grounded.py): every digit of a free-text answer copied from the
conversation, each copied span a word of its own.

llguidance's grammar and the decoded-string predicate accept the same strings (random mutations of real
answers), the automaton engines refuse with a typed error, a random-weights model under the grammar only
produces grounded answers, and `compile_request` binds the conversation's texts.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from agentflow.decoding import EngineUnsupportedError, compile_schema
from agentflow.decoding.engines import supported_engines
from agentflow.decoding.grounded import KEYWORD, bind_grounded, is_grounded
from agentflow.messages import Decision, ToolCall, assistant_message, tool_message, user_message
from agentflow.models.base import ModelRequest
from agentflow.models.decision_grammar import compile_request, conversation_sources

SOURCES = [
    "What time is it in New York? Also remember my pin is chanede368",
    "2026-12-01T23:19:38-05:00",
    '{"expression": "10 * 99222.76"}',
    "992227.6",
]
ANSWERS = [
    "It is 2026-12-01T23:19:38-05:00 in New York.",
    "10 * 99222.76 = 992227.6",
    "Noted: my pin is chanede368",
    "(992227.6) ok",
    "no digits at all, fine!",
]


def grounded_schema(sources: list[str]) -> Any:
    return bind_grounded({"type": "string", "maxLength": 120, KEYWORD: "conversation"}, sources)


def test_what_counts_as_grounded() -> None:
    """Digits only inside copied spans, each span a word of its own; text without digits is free."""
    for answer in ANSWERS:
        assert is_grounded(answer, SOURCES), answer
    for answer in [
        "It is 2026-12-01T23:19:38:30 in New York.",  # recombined from two spans
        "10 * 99222.76 = 992226.6",  # a digit changed
        "Noted: my pin is chaneto368",  # letters glued to a copied number
        "Noted: my pin is chane-02T05",
        "It is 23:19:38-05:00",  # a span must start at a chunk ("01T23" is one)
        "x" * 200,  # over maxLength
    ]:
        assert not is_grounded(answer, SOURCES, max_length=120), answer


def test_llguidance_and_the_predicate_agree(tiny_model_dir: Any) -> None:
    """Over 3,000 mutations of real answers (digits, letters, punctuation, spaces swapped in), llguidance's
    grammar accepts exactly what `is_grounded` accepts."""
    import llguidance
    import llguidance.hf
    from transformers import AutoTokenizer

    ll = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(tiny_model_dir))
    compiled = compile_schema(grounded_schema(SOURCES))
    rng = random.Random(7)
    pool = "0123456789 :-Tab.e(x_!"
    candidates = list(ANSWERS)
    for _ in range(3000):
        base = rng.choice(ANSWERS)
        i = rng.randrange(len(base))
        candidates.append(base[:i] + rng.choice(pool) + base[i + rng.randint(0, 2) :])
    agreed = grounded = 0
    for value in candidates:
        matcher = llguidance.LLMatcher(ll, compiled.lark, log_level=0)
        ok = all(matcher.consume_token(t) for t in ll.tokenize_str(json.dumps(value)))
        ok = ok and not matcher.is_error() and matcher.is_accepting()
        want = is_grounded(value, SOURCES, max_length=120)
        assert ok is want, value
        agreed += 1
        grounded += want
    assert agreed == len(candidates) and 50 < grounded < len(candidates) - 50


def test_automaton_engines_refuse_with_a_typed_error() -> None:
    """xgrammar and outlines_core cannot hold the capped language: refused, naming the keyword; llguidance
    enforces it."""
    support = supported_engines(compile_schema(grounded_schema(SOURCES)))
    assert support["llguidance"] is None
    for engine in ("xgrammar", "outlines_core"):
        err = support[engine]
        assert isinstance(err, EngineUnsupportedError) and err.keyword == KEYWORD


def test_a_random_model_only_writes_grounded_answers(tiny_model_dir: Any) -> None:
    """A random-weights model at temperature 1.0 under the grammar: every answer is grounded."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentflow.decoding.driver import GuidedDecoder

    decoder = GuidedDecoder(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        AutoTokenizer.from_pretrained(tiny_model_dir),
        engine="llguidance",
    )
    compiled = compile_schema(grounded_schema(SOURCES))
    for seed in range(10):
        sample = decoder.sample(compiled, max_tokens=compiled.min_max_tokens, temperature=1.0, seed=seed)
        assert is_grounded(json.loads(sample.text), SOURCES, max_length=120), sample.text


def test_the_conversation_is_what_answers_may_copy() -> None:
    """Sources: the latest user message, every observation, every call's arguments; a grounded request
    compiles the answer under them (refused by forced automaton engines, so auto picks llguidance)."""
    call = ToolCall(name="calculator", arguments={"expression": "2 * 21"}, id="call_1_0")
    messages = [
        user_message("What is 2 * 21?"),
        assistant_message(Decision(reasoning="r", tool_calls=[call]), "{}"),
        tool_message(call, "42"),
    ]
    assert conversation_sources(messages) == ["What is 2 * 21?", '{"expression": "2 * 21"}', "42"]
    request = ModelRequest(messages=messages)
    plain = compile_request(request)
    grounded = compile_request(request, grounded=True)
    assert "substring_chunks" not in plain.lark and '"42"' in grounded.lark
    with pytest.raises(EngineUnsupportedError):
        from agentflow.decoding.engines import engine_support

        engine_support(grounded, "xgrammar")


WORDS = ["noted", "it", "is", "in", "from", "your", "notes", "sorry", "I", "could", "not", "km2"]
WORD_SOURCES = [
    "Write a note: buy milk, eggs",
    '{"text": "buy milk, eggs"}',
    "What time is it in New York?",
    "2026-12-01T23:19:38-05:00",
]
WORD_ANSWERS = [
    "Noted: buy milk, eggs",
    "It is 2026-12-01T23:19:38-05:00 in New York.",
    "Sorry, I could not.",
]


def test_with_a_word_list_words_are_grounded_too(tiny_model_dir: Any) -> None:
    """With the model's answer words: every item is a copied span or listed words (capitalised too), so a
    misspelt note cannot be written; llguidance and the predicate agree on 2,500 mutations."""
    import llguidance
    import llguidance.hf
    from transformers import AutoTokenizer

    from agentflow.decoding.grounded import WORDS_KEY, is_grounded_words

    schema = bind_grounded({"type": "string", "maxLength": 200, KEYWORD: "conversation"}, WORD_SOURCES, WORDS)
    words = schema[WORDS_KEY]
    assert "Noted" in words and "km2" in words
    for answer in WORD_ANSWERS:
        assert is_grounded_words(answer, WORD_SOURCES, words, 200), answer
    for answer in ["Noted: buy nuk", "Noted:buy milk", "It is 2026 ok", "Noted: buy milkk", "Notedd: buy"]:
        assert not is_grounded_words(answer, WORD_SOURCES, words, 200), answer
    ll = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(tiny_model_dir))
    compiled = compile_schema(schema)
    rng = random.Random(3)
    candidates = list(WORD_ANSWERS)
    for _ in range(2500):
        base = rng.choice(WORD_ANSWERS)
        i = rng.randrange(len(base))
        candidates.append(base[:i] + rng.choice("abkmnotuy0123 :.,-!()'") + base[i + rng.randint(0, 2) :])
    for value in candidates:
        matcher = llguidance.LLMatcher(ll, compiled.lark, log_level=0)
        ok = all(matcher.consume_token(t) for t in ll.tokenize_str(json.dumps(value)))
        ok = ok and not matcher.is_error() and matcher.is_accepting()
        assert ok is is_grounded_words(value, WORD_SOURCES, words, 200), value


def test_answer_words_must_be_plain_words() -> None:
    """A word list entry with spaces or punctuation is refused, naming the keyword."""
    from agentflow.decoding import UnsupportedSchemaError

    with pytest.raises(UnsupportedSchemaError) as info:
        bind_grounded({"type": "string", KEYWORD: "conversation"}, ["x"], ["two words"])
    assert info.value.keyword == KEYWORD
