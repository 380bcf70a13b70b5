"""The in-process transformers backend, on a tiny random-weight model (tests/tiny_model.py).

A random model is the hardest case for constrained decoding: only the grammar keeps its output well formed.
`max_tokens` is 2048 (above every decision's minimum here) or None (exactly the minimum), so any invalid
output is a real failure, not a truncation. Every engine is guaranteed: there is no unconstrained mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from jsonschema import Draft202012Validator

from agentflow.decoding import (
    EngineUnsupportedError,
    MaxTokensTooSmallError,
    UnsupportedSchemaError,
)
from agentflow.exceptions import ConfigError, ModelSpecError
from agentflow.messages import system_message, user_message
from agentflow.models.base import ModelRequest, SamplingSettings, ToolSpec
from agentflow.models.decision_grammar import compile_decision
from agentflow.models.decision_schema import decision_schema
from agentflow.models.prompt import render_chat, to_text
from agentflow.models.transformers import ENGINES, TransformersModel

pytestmark = pytest.mark.anyio

CALCULATOR = ToolSpec(
    name="calculator",
    description="Evaluate an arithmetic expression.",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string", "maxLength": 20}},
        "required": ["expression"],
        "additionalProperties": False,
    },
)
ROOMY = 2048  # enough tokens for any decision under the schemas below, even one byte-token per byte


def request(
    *,
    seed: int | None = 0,
    temperature: float = 1.0,
    max_tokens: int = ROOMY,
    step: int = 0,
    tools: list[ToolSpec] | None = None,
    final_schema: dict[str, Any] | None = None,
) -> ModelRequest:
    return ModelRequest(
        messages=[system_message("You are a careful calculator."), user_message("What is 12 * 7 + 3?")],
        tools=[CALCULATOR] if tools is None else tools,
        final_schema=final_schema,
        settings=SamplingSettings(temperature=temperature, max_tokens=max_tokens, seed=seed),
        step=step,
    )


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path) -> TransformersModel:
    return TransformersModel(tiny_model_dir)


async def test_tool_calls_decode_under_the_decision_schema(model: TransformersModel) -> None:
    """Sampled decisions validate against the decision schema; the tool calls among them against the tool's."""
    schema = decision_schema([CALCULATOR])
    decision_validator = Draft202012Validator(schema)
    arguments_validator = Draft202012Validator(CALCULATOR.parameters)
    tool_decisions = 0
    for seed in range(6):
        response = await model.decide(request(seed=seed, step=2))
        decision_validator.validate(json.loads(response.raw_text))
        if response.decision.tool_calls:
            tool_decisions += 1
        for index, call in enumerate(response.decision.tool_calls):
            assert call.name == "calculator"
            assert call.id == f"call_2_{index}"
            arguments_validator.validate(call.arguments)
    assert tool_decisions >= 1, "no seed chose the tool branch; the tool-argument check never ran"


async def test_greedy_decoding_follows_a_final_schema(model: TransformersModel) -> None:
    """temperature 0 decodes greedily; the final answer follows `final_schema`."""
    final_schema = {"type": "integer"}
    response = await model.decide(request(temperature=0.0, seed=None, tools=[], final_schema=final_schema))
    Draft202012Validator(decision_schema([], final_schema)).validate(json.loads(response.raw_text))
    assert response.decision.is_final and isinstance(response.decision.final_answer, int)
    again = await model.decide(request(temperature=0.0, seed=None, tools=[], final_schema=final_schema))
    assert again.raw_text == response.raw_text


async def test_usage_counts_prompt_and_generated_tokens(
    model: TransformersModel, tiny_model_dir: Path
) -> None:
    """input_tokens is the prompt's token count; output_tokens counts what was generated."""
    from transformers import AutoTokenizer

    req = request(seed=2)
    response = await model.decide(req)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = to_text(render_chat(req), tokenizer)
    assert response.usage.input_tokens == len(tokenizer(prompt)["input_ids"]) > 0
    assert 0 < response.usage.output_tokens <= ROOMY
    assert response.model_name == tiny_model_dir.name


async def test_same_seed_same_text_and_each_step_its_own_seed(model: TransformersModel) -> None:
    """A seed reproduces a decision exactly; step n of seed s samples like step 0 of seed s + n."""
    first = await model.decide(request(seed=7))
    second = await model.decide(request(seed=7))
    assert first.raw_text == second.raw_text
    step_one = await model.decide(request(seed=7, step=1))
    assert step_one.raw_text != first.raw_text
    assert step_one.raw_text == (await model.decide(request(seed=8))).raw_text


async def test_concurrent_decides_run_one_at_a_time(model: TransformersModel) -> None:
    """Concurrent calls on one instance serialise; seeding stays per call, so all agree."""
    texts: list[str] = []

    async def one() -> None:
        texts.append((await model.decide(request(seed=2))).raw_text)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(one)
    assert len(texts) == 3 and len(set(texts)) == 1


async def test_cancelling_a_decide_stops_its_generation(model: TransformersModel) -> None:
    """A cancelled call stops generating at its next token: the next call does not wait for it to finish.

    The long request forces 200 characters (seconds of generation here); the next one takes milliseconds.
    """
    long = request(
        temperature=0.0,
        seed=None,
        tools=[],
        max_tokens=None,
        final_schema={"type": "string", "minLength": 200},
    )
    with anyio.move_on_after(0.3):
        await model.decide(long)
    with anyio.fail_after(2.0):
        response = await model.decide(request(seed=2))
    assert response.usage.output_tokens > 0


async def test_max_tokens_below_the_minimum_is_refused_before_decoding(model: TransformersModel) -> None:
    """A max_tokens below the decision's minimum is refused before decoding."""
    with pytest.raises(MaxTokensTooSmallError):
        await model.decide(request(max_tokens=3))
    assert model.last_engine is None or model.last_engine in ENGINES


async def test_an_unsupported_schema_is_refused_with_keyword_and_pointer(model: TransformersModel) -> None:
    """A schema no engine can enforce is refused, naming the keyword and where it is."""
    lookbehind = ToolSpec(
        name="grep",
        description="Search.",
        parameters={
            "type": "object",
            "properties": {"q": {"type": "string", "pattern": "(?<=x)a"}},
            "required": ["q"],
        },
    )
    with pytest.raises(UnsupportedSchemaError) as info:
        await model.decide(request(tools=[lookbehind]))
    assert info.value.keyword == "pattern" and info.value.pointer == "/properties/q"
    assert "tool 'grep'" in str(info.value)


@pytest.fixture(scope="module")
def forced(tiny_model_dir: Path) -> dict[str, TransformersModel]:
    return {engine: TransformersModel(tiny_model_dir, engine=engine) for engine in ENGINES[1:]}


@pytest.mark.parametrize("engine", ENGINES[1:])
async def test_each_forced_engine_decodes_valid_decisions(
    forced: dict[str, TransformersModel], engine: str
) -> None:
    """Every engine, forced, decodes decisions that validate; the model records which engine decoded."""
    validator = Draft202012Validator(decision_schema([CALCULATOR]))
    model = forced[engine]
    for seed in range(2):
        response = await model.decide(request(seed=seed, max_tokens=None))
        validator.validate(json.loads(response.raw_text))
    assert model.last_engine == engine
    assert model.bind([CALCULATOR]) == engine


async def test_xgrammar_and_outlines_core_decode_the_same_text(forced: dict[str, TransformersModel]) -> None:
    """Both enforce exactly the compiled language with every token that fits it, so a seed gives one text."""
    texts = {e: (await forced[e].decide(request(seed=4))).raw_text for e in ("xgrammar", "outlines_core")}
    assert texts["xgrammar"] == texts["outlines_core"]


async def test_auto_picks_a_supporting_engine_and_records_it(model: TransformersModel) -> None:
    """The default engine is auto: it decodes with an engine that supports the schema and says which."""
    assert model.engine == "auto"
    response = await model.decide(request(seed=1))
    assert model.last_engine in ENGINES[1:] and response.engine == model.last_engine
    assert model.bind([CALCULATOR]) == model.last_engine
    report = model.engine_report(compile_decision([CALCULATOR]))
    assert report["auto"] == model.last_engine and report[model.last_engine] is None


#: Six optional capped strings: the exact regex form (every subset of members, strings byte-capped with
#: escapes) is larger than outlines_core's limit.
LONG_TEXT = ToolSpec(
    name="note",
    description="Write a note.",
    parameters={"type": "object", "properties": {k: {"type": "string", "maxLength": 100} for k in "abcdef"}},
)


async def test_a_forced_engine_that_cannot_express_a_tool_is_a_typed_error(
    forced: dict[str, TransformersModel], model: TransformersModel
) -> None:
    """outlines_core forced onto a tool it cannot express exactly refuses with keyword, pointer and engine;
    it never decodes loosely. auto still decodes it, with another engine."""
    with pytest.raises(EngineUnsupportedError) as info:
        await forced["outlines_core"].decide(request(tools=[LONG_TEXT]))
    err = info.value
    assert isinstance(err, UnsupportedSchemaError)
    assert (err.engine, err.keyword, err.pointer) == ("outlines_core", "maxLength", "/properties/a")
    assert "tool 'note'" in str(err) and "outlines_core" in str(err)
    with pytest.raises(EngineUnsupportedError):
        forced["outlines_core"].bind([LONG_TEXT])
    response = await model.decide(request(tools=[LONG_TEXT], seed=0, max_tokens=None))
    assert model.last_engine != "outlines_core"
    Draft202012Validator(decision_schema([LONG_TEXT])).validate(json.loads(response.raw_text))


def test_spec_selects_the_engine(tiny_model_dir: Path) -> None:
    from agentflow.models.spec import load_model

    model = load_model(f"transformers:{tiny_model_dir}?engine=xgrammar")
    assert isinstance(model, TransformersModel) and model.engine == "xgrammar"


def test_spec_and_lazy_loading(tiny_model_dir: Path) -> None:
    model = TransformersModel(str(tiny_model_dir))
    assert model.spec == f"transformers:{tiny_model_dir}"
    assert model.engine == "auto" and model.device == "cpu"
    assert not model.loaded
    model.load()
    model.load()
    assert model.loaded


def test_bad_paths_are_model_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelSpecError, match="does not exist"):
        TransformersModel(tmp_path / "missing")
    a_file = tmp_path / "model.safetensors"
    a_file.write_bytes(b"")
    with pytest.raises(ModelSpecError, match="not a directory"):
        TransformersModel(a_file)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelSpecError, match=r"no config\.json"):
        TransformersModel(empty)
    (empty / "config.json").write_text("{}")
    with pytest.raises(ModelSpecError, match="no model weights"):
        TransformersModel(empty)


def test_unloadable_directory_is_a_model_spec_error_without_a_deep_traceback(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    model = TransformersModel(tmp_path)
    with pytest.raises(ModelSpecError, match="cannot load") as info:
        model.load()
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unknown_engine_is_a_config_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="unknown mask engine"):
        TransformersModel(tiny_model_dir, engine="regex-magic")


def test_importing_the_backend_imports_no_heavy_modules() -> None:
    code = (
        "import sys, agentflow.models.transformers; "
        "print(sorted(m for m in ('torch', 'transformers', 'outlines', 'outlines_core', 'llguidance', 'xgrammar') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_long_bounded_strings_decode_within_the_lexer_limits(model: TransformersModel) -> None:
    """A final answer of at least 200 characters inside the decision envelope decodes to a valid decision
    (llguidance's default lexer fuel is too small for it; agentflow raises the limits)."""
    schema = {"type": "string", "minLength": 200}
    response = await model.decide(request(tools=[], final_schema=schema, seed=5, max_tokens=None))
    assert isinstance(response.decision.final_answer, str) and len(response.decision.final_answer) >= 200


DEMO_DIR = Path(__file__).resolve().parents[2] / "agentflow" / "models" / "demo"


async def test_a_small_model_decodes_on_one_thread_whatever_torch_was_set_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo model chooses one torch thread for its decisions, even when the process had more."""
    import torch

    monkeypatch.delenv("AGENTFLOW_TORCH_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        demo = TransformersModel(DEMO_DIR)
        await demo.decide(request())
        assert demo.threads == 1 and demo.last_threads == 1
    finally:
        torch.set_num_threads(before)


async def test_threads_are_configurable_by_spec_and_environment(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?threads=N` and AGENTFLOW_TORCH_THREADS set the threads a model decodes with; bad values are refused."""
    import torch

    from agentflow.models.spec import load_model

    before = torch.get_num_threads()
    try:
        by_spec = load_model(f"transformers:{tiny_model_dir}?threads=2")
        assert isinstance(by_spec, TransformersModel)
        await by_spec.decide(request())
        assert by_spec.last_threads == 2
        monkeypatch.setenv("AGENTFLOW_TORCH_THREADS", "3")
        by_env = TransformersModel(tiny_model_dir)
        await by_env.decide(request())
        assert by_env.threads == 3 and by_env.last_threads == 3
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ModelSpecError, match="threads must be a whole number"):
        load_model(f"transformers:{tiny_model_dir}?threads=many")
    monkeypatch.setenv("AGENTFLOW_TORCH_THREADS", "0")
    with pytest.raises(ConfigError, match="AGENTFLOW_TORCH_THREADS"):
        TransformersModel(tiny_model_dir)


async def test_a_model_directory_profile_turns_grounded_answers_on(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """`agentflow.json` with `grounded_answers` makes the model's plain answers grounded (numbers copied from the
    conversation, decoded with llguidance); a malformed profile is refused naming the file."""
    import shutil

    from agentflow.decoding.grounded import is_grounded

    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "agentflow.json").write_text('{"grounded_answers": true}')
    grounded = TransformersModel(copy)
    messages = [user_message("What is 12 * 7 + 3?")]
    for seed in range(4):
        response = await grounded.decide(
            ModelRequest(messages=messages, settings=SamplingSettings(temperature=1.0, seed=seed))
        )
        assert response.engine == "llguidance"
        assert is_grounded(response.decision.final_answer, ["What is 12 * 7 + 3?"])
    assert grounded.grounded_answers and not TransformersModel(copy, grounded_answers=False).grounded_answers
    (copy / "agentflow.json").write_text('{"grounded": 1}')
    with pytest.raises(ModelSpecError, match=r"agentflow\.json"):
        TransformersModel(copy)


def test_a_pinned_engine_that_cannot_ground_answers_is_refused_at_once() -> None:
    """The demo's profile grounds answers, which only llguidance enforces: pinning xgrammar is refused when the
    model is made (not on every decision), naming the way out; `grounded=off` makes the pin work."""
    from agentflow.models.spec import load_model

    with pytest.raises(
        ModelSpecError, match=r"grounded answers .* llguidance only, not xgrammar.*grounded=off"
    ):
        load_model("demo?engine=xgrammar")
    model = load_model("demo?engine=xgrammar&grounded=off")
    assert isinstance(model, TransformersModel) and not model.grounded_answers
    assert load_model("demo?engine=llguidance").grounded_answers
    with pytest.raises(ModelSpecError, match="grounded must be on or off"):
        load_model("demo?grounded=maybe")
