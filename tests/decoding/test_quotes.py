"""Quoted strings (agentflow/decoding/quotes.py): spans of the request, identical on every mask engine.

The language itself (the decoded-string predicate, llguidance's native substring lexeme and the automaton the
other engines get all accept exactly the same strings, with quotes, backslashes, control characters and
non-ASCII text in the request), decoding under each engine with a random-weights model (every sample is a
span), caps, refusals, and binding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentflow.decoding import EngineUnsupportedError, UnsupportedSchemaError, compile_schema
from agentflow.decoding.engines import ENGINES, supported_engines
from agentflow.decoding.engines.automata import lexeme_dfa
from agentflow.decoding.quotes import (
    KEYWORD,
    bind_quotes,
    chunks,
    is_quote,
    provider_schema,
    spans,
    validator_for_quotes,
)

#: A request with everything that needs JSON escaping or care: double quotes, a backslash, a tab and a
#: newline, accented letters, an emoji (a surrogate pair in JSON), CJK, punctuation glued to words.
TRICKY = 'Note that "the boiler" was serviced\ton Monday, café 😀 at C:\\temp\n done. 東京 ok'


def schema(max_length: int | None = None, min_length: int | None = None) -> dict[str, Any]:
    text: dict[str, Any] = {"type": "string", KEYWORD: "request"}
    if max_length is not None:
        text["maxLength"] = max_length
    if min_length is not None:
        text["minLength"] = min_length
    return {
        "type": "object",
        "properties": {"text": text},
        "required": ["text"],
        "additionalProperties": False,
    }


def quote_lexeme(compiled: Any) -> Any:
    (lexeme,) = [lx for lx in compiled.ir.lexemes.values() if lx.substring]
    return lexeme


def test_spans_run_from_word_to_word() -> None:
    """A quote is whole chunks of the request, never empty, never starting or ending with whitespace."""
    text = "Write a note: buy milk, eggs"
    assert chunks(text)[:5] == ["Write", " ", "a", " ", "note"]
    assert is_quote("buy milk", text)
    assert is_quote("buy milk,", text)
    assert is_quote("note: buy", text)
    assert not is_quote("uy milk", text)  # starts inside a word
    assert not is_quote("buy mil", text)  # ends inside a word
    assert not is_quote(" buy", text)
    assert not is_quote("buy ", text)
    assert not is_quote("", text)
    assert not is_quote("buy  milk", text)  # spacing is copied exactly too
    assert not is_quote("Buy milk", text)


@pytest.fixture(scope="module")
def ll_tokenizer(tiny_model_dir: Any) -> Any:
    import llguidance.hf
    from transformers import AutoTokenizer

    return llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(tiny_model_dir))


def _ll_accepts(ll_tokenizer: Any, lark: str, text: str) -> bool:
    import llguidance

    matcher = llguidance.LLMatcher(ll_tokenizer, lark, log_level=0)
    tokens = ll_tokenizer.tokenize_str(text)
    return all(matcher.consume_token(t) for t in tokens) and not matcher.is_error() and matcher.is_accepting()


@pytest.mark.parametrize(("max_length", "min_length"), [(None, None), (12, None), (None, 2), (None, 3)])
def test_every_engine_form_accepts_exactly_the_spans(
    ll_tokenizer: Any, max_length: int | None, min_length: int | None
) -> None:
    """Over every substring of a tricky request: llguidance's grammar, the automaton the other engines are
    built from and `is_quote` (with the length limits) agree string for string."""
    compiled = compile_schema(bind_quotes(schema(max_length, min_length), TRICKY))
    dfa = lexeme_dfa(quote_lexeme(compiled))
    checked = 0
    for a in range(len(TRICKY)):
        for b in range(a, len(TRICKY) + 1):
            value = TRICKY[a:b]
            encoded = json.dumps(value, ensure_ascii=True)
            want = (
                is_quote(value, TRICKY)
                and (max_length is None or len(value) <= max_length)  # characters, not bytes
                and (min_length is None or len(value) >= min_length)
            )
            assert dfa.matches(encoded.encode()) is want, value
            document = json.dumps({"text": value}, ensure_ascii=True, separators=(",", ":"))
            if want or checked % 7 == 0:  # llguidance is slower: every span, and a sample of the rest
                assert _ll_accepts(ll_tokenizer, compiled.lark, document) is want, value
            checked += 1
    assert checked > 2000


@pytest.mark.parametrize("engine", ENGINES)
def test_decoding_with_a_random_model_only_ever_quotes(tiny_model_dir: Any, engine: str) -> None:
    """A random-weights model at temperature 1.0, under each mask engine: every sampled value is a span of the
    request (quotes, backslashes and non-ASCII text included) and decodes to the exact characters."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentflow.decoding.driver import GuidedDecoder

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    decoder = GuidedDecoder(model, AutoTokenizer.from_pretrained(tiny_model_dir), engine=engine)
    compiled = compile_schema(bind_quotes(schema(), TRICKY))
    seen = set()
    for seed in range(12):
        sample = decoder.sample(compiled, max_tokens=compiled.min_max_tokens, temperature=1.0, seed=seed)
        value = json.loads(sample.text)["text"]
        assert is_quote(value, TRICKY), value
        assert sample.engine == engine
        seen.add(value)
    assert len(seen) > 3  # the model really chose among spans


def test_unbound_marker_compiles_as_a_string_and_says_so() -> None:
    """Without a request the marker cannot be enforced: an ordinary string, with a cap note."""
    compiled = compile_schema(schema())
    assert not [lx for lx in compiled.ir.lexemes.values() if lx.substring]
    assert any("quoted from the request" in cap for cap in compiled.caps)


def test_a_request_with_nothing_to_quote_leaves_no_instance() -> None:
    """An empty (or blank) request: a required quoted argument has no value, refused naming the keyword."""
    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema(bind_quotes(schema(), "   "))
    assert info.value.keyword == KEYWORD and "no text to quote" in info.value.reason


@pytest.mark.parametrize(
    "extra",
    [{"pattern": "a+"}, {"enum": ["a"]}, {"format": "email"}, {"type": "integer"}],
)
def test_markers_the_compiler_cannot_enforce_are_refused(extra: dict[str, Any]) -> None:
    """A quote combined with another value constraint (or on a non-string) is refused, naming the keyword."""
    bad = schema()
    bad["properties"]["text"].update(extra)
    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema(bind_quotes(bad, "some text"))
    assert info.value.keyword == KEYWORD and info.value.pointer == "/properties/text"


def test_long_requests_are_exact_or_refused_per_engine() -> None:
    """A 4,000-character request: within maxLength llguidance and xgrammar enforce it exactly; past maxLength
    (spans capped) llguidance still does, and an engine whose automaton or regex outgrows its limits refuses
    with a typed error naming the quoted keyword, never a looser language."""
    text = " ".join(f"w{i}x" for i in range(700))
    support = supported_engines(compile_schema(bind_quotes(schema(max_length=5000), text)))
    assert support["llguidance"] is None and support["xgrammar"] is None
    capped = supported_engines(compile_schema(bind_quotes(schema(max_length=2000), text)))
    assert capped["llguidance"] is None
    refusals = [err for err in [*support.values(), *capped.values()] if err is not None]
    assert refusals  # (outlines_core's regex form, xgrammar's capped automaton)
    for err in refusals:
        assert isinstance(err, EngineUnsupportedError) and err.keyword == KEYWORD


def test_optional_quoted_arguments_survive_anyof() -> None:
    """`Optional[Annotated[str, Quoted()]]` (an anyOf with null) keeps the quote in its string branch."""
    s = {
        "type": "object",
        "properties": {"text": {"anyOf": [{"type": "string", KEYWORD: "request"}, {"type": "null"}]}},
    }
    compiled = compile_schema(bind_quotes(s, "hello world"))
    assert quote_lexeme(compiled).substring == ("hello", " ", "world")


def test_providers_get_the_spans_as_an_enum_and_no_private_keys() -> None:
    """For response_format: the spans as an enum when few, and nothing agentflow-specific left in."""
    bound = bind_quotes(schema(), "buy milk")
    sent = provider_schema(bound)
    assert sent["properties"]["text"]["enum"] == ["buy", "buy milk", "milk"]
    assert KEYWORD not in json.dumps(sent) and "__" not in json.dumps(sent)
    assert provider_schema(bind_quotes(schema(), " ".join(["w"] * 40)), limit=10)["properties"]["text"] == {
        "type": "string"
    }
    assert spans("a b c", 100) == ["a", "a b", "a b c", "b", "b c", "c"]


def test_jsonschema_validation_checks_bound_quotes() -> None:
    """The keyword, added to a jsonschema validator, refuses a value that is not a span (and only when bound)."""
    from jsonschema import Draft202012Validator

    cls = validator_for_quotes(Draft202012Validator)
    bound = bind_quotes(schema(), "Save a note saying call the plumber")
    assert not list(cls(bound).iter_errors({"text": "call the plumber"}))
    errors = list(cls(bound).iter_errors({"text": "call the plumbers"}))
    assert errors and "not copied verbatim from the request" in errors[0].message
    assert not list(cls(schema()).iter_errors({"text": "anything"}))
    assert not list(cls(bound).iter_errors({"text": ""}))  # quotes nothing: minLength decides
    assert list(cls(bind_quotes(schema(min_length=1), "call the plumber")).iter_errors({"text": ""}))


def test_auto_checks_a_familys_engine_against_each_requests_grammar(
    tiny_model_dir: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grammars that differ only in their request share auto's engine choice, but a long request's capped
    quotes may outgrow the engine chosen for a short one: auto then picks an engine that builds this grammar
    (here the family's choice is xgrammar, which cannot build the 700-word request's cap)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentflow.decoding.driver import GuidedDecoder
    from agentflow.decoding.engines.choice_cache import ChoiceCache

    monkeypatch.setenv("AGENTFLOW_CACHE_DIR", str(tmp_path))
    decoder = GuidedDecoder(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)
    )
    short = compile_schema(bind_quotes(schema(max_length=2000), "please save a note: buy milk and eggs"))
    long_request = " ".join(f"w{i}x" for i in range(700))
    long = compile_schema(bind_quotes(schema(max_length=2000), long_request))
    builds_long = {name for name, error in supported_engines(long).items() if error is None}
    assert short.family == long.family and "xgrammar" not in builds_long
    names = decoder.choice(short).measured.keys() or ENGINES
    key = ChoiceCache.key(short.family, decoder.view.fingerprint, tuple(names))
    ChoiceCache().put(key, "xgrammar")
    fresh = GuidedDecoder(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)
    )
    assert fresh.choice(short).engine == "xgrammar"
    assert fresh.choice(long).engine in builds_long
    sample = fresh.sample(long, max_tokens=long.min_max_tokens, seed=1)
    assert is_quote(json.loads(sample.text)["text"], long_request)
