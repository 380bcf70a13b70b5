"""The guarantee: every supported schema decodes to a valid instance under every mask engine that supports it,
at temperature 1.0, on a random model, with max_tokens at the reported minimum -- plus cheaper model-free
random walks (uniform and adversarially long) through the same grammars, and pydantic-generated schemas
accepted by pydantic itself."""

from __future__ import annotations

import datetime
import decimal
import enum
import random
import time
import uuid
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agentflow.decoding import (
    MaxTokensTooSmallError,
    check_output,
    compile_schema,
)
from agentflow.decoding.engines import ENGINES
from agentflow.decoding.fuzz import random_walk
from agentflow.models.base import ToolSpec
from agentflow.models.decision_grammar import compile_decision
from agentflow.models.decision_schema import parse_decision
from agentflow.tooling.schema import arguments_schema

from decoding_cases import SUPPORTED

SAMPLES_PER_SCHEMA = 3


@pytest.mark.parametrize("engine", ENGINES)
def test_dev_schemas_model_samples_all_valid(
    dev_schemas: dict[str, Any],
    compiled_dev: dict[str, Any],
    engine_support: dict[str, dict[str, Any]],
    decoder: Any,
    engine: str,
) -> None:
    """For each mask engine: >= 3 samples per dev schema it supports, temperature 1.0, max_tokens = the
    reported minimum, all valid."""
    supported = [name for name, err in engine_support[engine].items() if err is None]
    failures, tokens, mask_s, started = [], 0, 0.0, time.perf_counter()
    for name in supported:
        comp = compiled_dev[name]
        for seed in range(SAMPLES_PER_SCHEMA):
            sample = decoder.sample(
                comp, max_tokens=comp.min_max_tokens, temperature=1.0, seed=seed, engine=engine
            )
            assert sample.engine == engine
            tokens += sample.n_tokens
            mask_s += sample.mask_seconds
            assert sample.n_tokens <= comp.min_max_tokens
            verdict = check_output(sample.text, dev_schemas[name])
            if not verdict.ok:
                failures.append((name, seed, verdict.error, sample.text[:200]))
    elapsed = time.perf_counter() - started
    print(
        f"\n{engine}: {len(supported)}/{len(dev_schemas)} dev schemas, {len(supported) * SAMPLES_PER_SCHEMA} "
        f"samples, {tokens} tokens, {elapsed:.1f}s, mask {1e6 * mask_s / max(tokens, 1):.0f} us/token"
    )
    assert supported and not failures, failures[:5]


@pytest.mark.parametrize("mode,walks", [("uniform", 5), ("adversarial", 2)])
def test_dev_schemas_random_walks_valid_within_bound(
    dev_schemas: dict[str, Any], compiled_dev: dict[str, Any], ll_tokenizer: Any, mode: str, walks: int
) -> None:
    import llguidance

    rng = random.Random(7)
    failures = []
    for name, comp in compiled_dev.items():
        matcher = llguidance.LLMatcher(ll_tokenizer, comp.lark, log_level=0)
        for _ in range(walks):
            walk = random_walk(ll_tokenizer, comp, rng, mode=mode, matcher=matcher)
            assert walk.n_tokens <= comp.min_max_tokens
            verdict = check_output(walk.text, dev_schemas[name])
            if not verdict.ok:
                failures.append((name, verdict.error, walk.text[:200]))
    assert not failures, failures[:5]


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_handwritten_random_walks(name: str, ll_tokenizer: Any) -> None:
    import llguidance

    schema = SUPPORTED[name]
    comp = compile_schema(schema)
    matcher = llguidance.LLMatcher(ll_tokenizer, comp.lark, log_level=0)
    rng = random.Random(name)
    for mode in ("uniform", "adversarial"):
        for _ in range(12):
            walk = random_walk(ll_tokenizer, comp, rng, mode=mode, matcher=matcher)
            verdict = check_output(walk.text, schema)
            assert verdict.ok, (verdict.error, walk.text)


@pytest.mark.parametrize("engine", ["auto", *ENGINES])
def test_max_tokens_below_minimum_refused(decoder: Any, engine: str) -> None:
    comp = compile_schema({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    with pytest.raises(MaxTokensTooSmallError) as info:
        decoder.sample(comp, max_tokens=comp.min_max_tokens - 1, engine=engine)
    assert info.value.minimum == comp.min_max_tokens


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    zip_code: str | None = None


class Order(BaseModel):
    id: uuid.UUID
    kind: Literal["pickup", "delivery"]
    color: Color
    address: Address
    items: list[Address]
    counts: dict[str, int]
    when: datetime.datetime
    day: datetime.date
    price: decimal.Decimal
    note: str | None = None
    tags: set[str] = set()
    pair: tuple[int, bool] = (0, False)


def test_pydantic_schemas_supported_and_accepted(decoder: Any) -> None:
    schema = arguments_schema(Order)
    comp = compile_schema(schema)
    for seed in range(SAMPLES_PER_SCHEMA):
        sample = decoder.sample(comp, max_tokens=comp.min_max_tokens, seed=seed)
        assert check_output(sample.text, schema).ok
        Order.model_validate_json(sample.text)  # raises if pydantic disagrees


def test_decision_envelope(decoder: Any) -> None:
    tools = [
        ToolSpec(name="calc", description="", parameters=arguments_schema(Address)),
        ToolSpec(name="order", description="", parameters=arguments_schema(Order)),
    ]
    comp = compile_decision(tools)
    from agentflow.models.decision_schema import decision_schema

    schema = decision_schema(tools)
    for seed in range(SAMPLES_PER_SCHEMA):
        sample = decoder.sample(comp, max_tokens=comp.min_max_tokens, seed=seed)
        assert check_output(sample.text, schema).ok, sample.text
        parse_decision(sample.text, step=0)
