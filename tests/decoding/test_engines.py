"""Mask engines (agentflow/decoding/engines): each enforces exactly the compiled language or refuses.

Coverage per engine over the dev schemas, refusals that name engine + keyword + pointer, automata against
their regexes, token masks compared engine by engine along model-free walks (xgrammar and outlines_core allow
exactly the same tokens; llguidance allows a subset: where bytes are forced it offers only their canonical
tokenization), auto's measured choice and its cache, forced engines, cancellation.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from agentflow.decoding import (
    EngineUnsupportedError,
    MaxTokensTooSmallError,
    UnsupportedSchemaError,
    check_output,
    compile_schema,
)
from agentflow.decoding.driver import DecodingCancelled
from agentflow.decoding.engines import ENGINES, engine_support, supported_engines
from agentflow.decoding.engines.automata import AutomatonError, lexeme_dfa, product, regex_dfa
from agentflow.decoding.engines.ebnf import to_ebnf
from agentflow.decoding.engines.regex_form import dfa_regex, to_regex
from agentflow.decoding.grammar import Lexeme

from decoding_cases import SUPPORTED

#: Per-engine floors on the 230 dev schemas (measured: llguidance 226, xgrammar 226, outlines_core 182).
FLOORS = {"llguidance": 0.95, "xgrammar": 0.95, "outlines_core": 0.70}


@pytest.mark.parametrize("engine", ENGINES)
def test_dev_coverage_per_engine(
    dev_schemas: dict[str, Any], engine_support: dict[str, dict[str, Any]], engine: str
) -> None:
    """Each engine covers at least its floor; every refusal names the engine, a keyword and a reason."""
    refusals = {n: e for n, e in engine_support[engine].items() if e is not None}
    covered = len(engine_support[engine]) - len(refusals)
    print(f"\n{engine}: {covered}/{len(dev_schemas)} dev schemas ({covered / len(dev_schemas):.1%})")
    assert covered / len(dev_schemas) >= FLOORS[engine], {n: str(e) for n, e in list(refusals.items())[:5]}
    for err in refusals.values():
        assert isinstance(err, EngineUnsupportedError) and isinstance(err, UnsupportedSchemaError)
        assert err.engine == engine and err.keyword and err.pointer is not None and err.reason
        assert engine in str(err)


def _equal(x: Any, y: Any) -> bool:
    """Equivalence of two minimal DFAs with possibly different byte partitions (walk them in lockstep)."""

    def of(d: Any) -> dict[int, int]:
        return {b: i for i, block in enumerate(d.blocks) for b in block}

    ox, oy = of(x), of(y)
    seen = {(0, 0)}
    stack = [(0, 0)]
    while stack:
        p, q = stack.pop()
        if x.accept[p] != y.accept[q]:
            return False
        for byte in range(128):
            tp = x.trans[p].get(ox.get(byte, -1), -1)
            tq = y.trans[q].get(oy.get(byte, -1), -1)
            if (tp < 0) != (tq < 0):
                return False
            if tp >= 0 and (tp, tq) not in seen:
                seen.add((tp, tq))
                stack.append((tp, tq))
    return True


def test_lexeme_automata_and_their_regex_forms_agree(compiled_dev: dict[str, Any]) -> None:
    """Every intersected / negated dev lexeme: its DFA accepts what its parts accept, and the regex emitted for
    outlines_core (when within the limit) denotes exactly the DFA's language."""
    lexemes = {
        lx.parts: lx for comp in compiled_dev.values() for lx in comp.grammar.lexemes.values() if not lx.plain
    }
    assert len(lexemes) >= 10
    checked = 0
    for parts, lx in lexemes.items():
        dfa = lexeme_dfa(lx)
        try:
            rx = dfa_regex(dfa, 200_000)
        except AutomatonError:
            continue
        assert _equal(dfa, regex_dfa(rx)[0]), parts
        checked += 1
    assert checked >= len(lexemes) // 2


def test_intersection_and_negation_are_exact() -> None:
    """The byte cap of an escaped string counts bytes; a negated literal is taken out and nothing else."""
    capped = lexeme_dfa(Lexeme(('"(?:[a-z]|\\\\["\\\\nt]){0,3}"', ".{2,5}")))
    assert capped.matches(b'"abc"') and capped.matches(b'"a\\n"') and not capped.matches(b'"ab\\n"')
    assert not capped.matches(b'"abcd"')
    neg = lexeme_dfa(Lexeme(('"[a-c]{1,2}"', '~(?:"ab"|"c")')))
    words = [f'"{a}{b}"'.encode() for a in "abc" for b in ["", *"abc"]]
    assert sorted(w for w in words if not neg.matches(w)) == [b'"ab"', b'"c"']
    both = product(regex_dfa("[a-c]{1,2}")[0], regex_dfa("[a-c]{1,2}")[0], negate_b=True)
    assert not any(both.accept)
    with pytest.raises(AutomatonError):
        lexeme_dfa(Lexeme((".{1,3}", "~a")))  # nothing ASCII-only to bound the `.`


@pytest.mark.parametrize(
    "name",
    [
        "formats",
        "weird_key",
        "enum_mixed",
        "not_enum_short",
        "map_min_forbid",
        "pattern_lengths",
        "tree",
        "unique_enum",
    ],
)
def test_handwritten_forms_translate(name: str) -> None:
    """The hand-written corner cases translate to EBNF xgrammar parses and (within limits) to a regex."""
    import xgrammar as xgr

    comp = compile_schema(SUPPORTED[name])
    xgr.Grammar.from_ebnf(to_ebnf(comp.grammar))
    assert supported_engines(comp)["xgrammar"] is None
    try:
        assert to_regex(comp.grammar, 400_000)
    except AutomatonError:
        assert supported_engines(comp)["outlines_core"] is not None


def _mask(matcher: Any, buf: Any, vocab: int) -> set[int]:
    import numpy as np

    matcher.fill(buf)
    return set(np.flatnonzero(np.unpackbits(buf.numpy().view(np.uint8), bitorder="little")[:vocab]).tolist())


def test_masks_agree_along_walks(
    dev_schemas: dict[str, Any],
    compiled_dev: dict[str, Any],
    engine_support: dict[str, dict[str, Any]],
    decoder: Any,
) -> None:
    """One model-free walk per dev schema, masks from every supporting engine at every step: outlines_core's
    equal xgrammar's, llguidance's are a non-empty subset; the walk (half of them on llguidance's narrower
    choices) ends valid."""
    import torch

    view = decoder.view
    buf = torch.zeros((1, view.words), dtype=torch.int32)
    rng = random.Random(11)
    problems = []
    for i, (name, comp) in enumerate(compiled_dev.items()):
        engines = [e for e in ENGINES if engine_support[e][name] is None]
        matchers = {e: decoder.matcher(comp, e) for e in engines}
        out = b""
        for _ in range(comp.min_max_tokens + 1):
            masks = {e: _mask(m, buf, view.vocab_size) for e, m in matchers.items()}
            exact = masks["xgrammar"]
            if "outlines_core" in masks and masks["outlines_core"] != exact:
                problems.append((name, "outlines_core != xgrammar", out[-30:]))
                break
            if not masks["llguidance"] or not masks["llguidance"] <= exact:
                problems.append((name, "llguidance not a subset", out[-30:]))
                break
            pool = sorted((masks["llguidance"] if i % 2 else exact) - {view.eos})
            if not pool or (view.eos in exact and rng.random() < 0.1):
                break
            tok = rng.choice(pool)
            out += view.token_bytes[tok]
            for m in matchers.values():
                m.consume(tok)
        if not all(m.accepting() for m in matchers.values()) or not check_output(out, dev_schemas[name]).ok:
            problems.append((name, "walk did not end valid", out[-60:]))
    assert not problems, problems[:5]


def test_auto_choice_is_measured_supported_and_cached(
    compiled_dev: dict[str, Any],
    engine_support: dict[str, dict[str, Any]],
    tiny: tuple[Any, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """auto picks an engine that supports the grammar, keeps what each candidate measured and why others were
    refused, and answers the same grammar from its cache."""
    from agentflow.decoding.driver import GuidedDecoder

    monkeypatch.setenv("AGENTFLOW_CACHE_DIR", str(tmp_path))
    decoder = GuidedDecoder(*tiny)
    refused_by_oc = next(n for n, e in engine_support["outlines_core"].items() if e is not None)
    both = next(n for n, e in engine_support["outlines_core"].items() if e is None)
    for name in (refused_by_oc, both):
        choice = decoder.choice(compiled_dev[name])
        assert engine_support[choice.engine][name] is None
        assert set(choice.measured) | set(choice.refused) == set(ENGINES)
        assert all(m.mask_us_per_token > 0 and m.score_s > 0 for m in choice.measured.values())
        assert min(choice.measured, key=lambda e: choice.measured[e].score_s) == choice.engine
        assert decoder.choice(compiled_dev[name]) is choice
    assert "outlines_core" in decoder.choice(compiled_dev[refused_by_oc]).refused
    sample = decoder.sample(compiled_dev[both], max_tokens=compiled_dev[both].min_max_tokens, seed=0)
    assert sample.engine == decoder.choice(compiled_dev[both]).engine


def test_forced_engine_override_and_refusal(
    compiled_dev: dict[str, Any], engine_support: dict[str, dict[str, Any]], decoder: Any
) -> None:
    """engine= overrides auto; an engine that cannot express a grammar raises its typed refusal before any
    decoding, never a looser decode."""
    refused = next(n for n, e in engine_support["outlines_core"].items() if e is not None)
    comp = compiled_dev[refused]
    with pytest.raises(EngineUnsupportedError) as info:
        decoder.sample(comp, max_tokens=comp.min_max_tokens, engine="outlines_core")
    assert info.value.engine == "outlines_core"
    assert (info.value.keyword, info.value.pointer) == (
        engine_support["outlines_core"][refused].keyword,
        engine_support["outlines_core"][refused].pointer,
    )
    for engine in ("llguidance", "xgrammar"):
        assert decoder.sample(comp, max_tokens=comp.min_max_tokens, seed=1, engine=engine).engine == engine
    with pytest.raises(ValueError, match="unknown mask engine"):
        decoder.sample(comp, max_tokens=comp.min_max_tokens, engine="regex-magic")


def test_string_first_grammar_refused_by_outlines_core() -> None:
    """outlines_core's regex compiler is exponential on outputs that start with an escaped-string lexeme: it is
    refused with the keyword, every other engine keeps it."""
    comp = compile_schema({"type": "string", "maxLength": 40})
    with pytest.raises(EngineUnsupportedError) as info:
        engine_support(comp, "outlines_core")
    assert info.value.keyword == "type"
    engine_support(comp, "xgrammar")


@pytest.mark.parametrize("engine", ENGINES)
def test_cancellation_and_bound_per_engine(decoder: Any, engine: str) -> None:
    """should_stop ends any engine's decode; max_tokens below the minimum is refused before decoding."""
    comp = compile_schema({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})
    with pytest.raises(DecodingCancelled):
        decoder.sample(comp, max_tokens=comp.min_max_tokens, engine=engine, should_stop=lambda: True)
    with pytest.raises(MaxTokensTooSmallError):
        decoder.sample(comp, max_tokens=comp.min_max_tokens - 1, engine=engine)
    text = decoder.sample(comp, max_tokens=comp.min_max_tokens, engine=engine, seed=2).text
    assert check_output(
        text, {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    ).ok


def test_outlines_core_index_build_is_time_limited(monkeypatch: pytest.MonkeyPatch, decoder: Any) -> None:
    """A regex on which outlines_core's compiler is exponential is cut off in its forked child and refused;
    a refused build is cached, not retried."""
    import agentflow.decoding.engines.outlines_core as oc

    engine = decoder.engine_impl("outlines_core")
    monkeypatch.setattr(oc, "BUILD_TIMEOUT_S", 1.0)
    with pytest.raises(EngineUnsupportedError, match="index build exceeded"):
        oc._guarded_index('"(?:[ -!#-\\[\\]-~]|\\\\["\\\\nt]){0,40}"', engine._vocabulary)
    comp = compile_schema({"type": "object", "properties": {"z": {"type": "boolean"}}, "required": ["z"]})
    calls = []

    def refuse(form: str) -> Any:
        calls.append(form)
        raise EngineUnsupportedError("outlines_core", "schema", "", "index build exceeded 1 s")

    monkeypatch.setattr(engine, "_compile", refuse)
    for _ in range(2):
        with pytest.raises(EngineUnsupportedError):
            engine.prepare(comp)
    assert len(calls) == 1


def test_auto_choices_are_kept_on_disk_for_the_next_process(
    compiled_dev: dict[str, Any],
    engine_support: dict[str, dict[str, Any]],
    tiny: tuple[Any, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A later decoder (process) reuses the stored choice without measuring; a stored engine that now refuses
    the grammar, or a corrupted cache file, sends auto back to measuring."""
    from agentflow.decoding.driver import GuidedDecoder
    from agentflow.decoding.engines.choice_cache import ChoiceCache

    monkeypatch.setenv("AGENTFLOW_CACHE_DIR", str(tmp_path))
    both = next(n for n, e in engine_support["outlines_core"].items() if e is None)
    refused_by_oc = next(n for n, e in engine_support["outlines_core"].items() if e is not None)
    first = GuidedDecoder(*tiny).choice(compiled_dev[both])
    assert not first.stored and first.measured
    again = GuidedDecoder(*tiny).choice(compiled_dev[both])
    assert again.stored and again.engine == first.engine and not again.measured
    stored = json.loads((tmp_path / "engine-choices.json").read_text())
    assert all(len(k) == 64 and v in ENGINES for k, v in stored.items())  # digests and names only

    decoder = GuidedDecoder(*tiny)
    key = ChoiceCache.key(compiled_dev[refused_by_oc].lark, decoder.view.fingerprint, ENGINES)
    (tmp_path / "engine-choices.json").write_text(json.dumps({**stored, key: "outlines_core"}))
    choice = decoder.choice(compiled_dev[refused_by_oc])
    assert not choice.stored and choice.engine != "outlines_core"
    assert json.loads((tmp_path / "engine-choices.json").read_text())[key] == choice.engine

    (tmp_path / "engine-choices.json").write_text("{not json")
    fresh = GuidedDecoder(*tiny).choice(compiled_dev[both])
    assert not fresh.stored and fresh.engine in ENGINES


def test_a_failed_cache_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is best effort: a write that fails (a full disk) keeps the old file and leaves no stray file."""
    import os

    from agentflow.decoding.engines.choice_cache import ChoiceCache

    cache = ChoiceCache(tmp_path / "engine-choices.json")
    cache.put("a" * 64, "xgrammar")

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    cache.put("b" * 64, "llguidance")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engine-choices.json"]
    assert json.loads((tmp_path / "engine-choices.json").read_text()) == {"a" * 64: "xgrammar"}
