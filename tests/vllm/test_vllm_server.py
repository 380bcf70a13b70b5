"""`vllm-server:URL#MODEL` and `openai:MODEL@BASE_URL` against a real vLLM server on loopback (started and
stopped by the `vllm_server` fixture, llguidance backend), serving a tiny random-weight model.

Runs only where vLLM is installed: `scripts/test` runs this folder in the vLLM virtualenv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vllm")

from agentflow.decoding import MaxTokensTooSmallError, check_output
from agentflow.exceptions import ModelHTTPError
from agentflow.messages import system_message, user_message
from agentflow.models.base import ModelRequest, SamplingSettings, ToolSpec
from agentflow.models.decision_grammar import compile_decision
from agentflow.models.decision_schema import decision_schema
from agentflow.models.openai import OpenAIModel
from agentflow.models.output_check import check_decision_output
from agentflow.models.prompt import render_chat, to_text
from agentflow.models.vllm_server import VLLMServerModel

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

SERVED_NAME = "tiny"  # the vllm_server fixture's --served-model-name
DEV_DIR = Path(__file__).resolve().parent.parent / "data" / "schemas" / "dev"
DEV_FINAL_SCHEMAS = ["Github_easy__o1008.json", "Github_easy__o10086.json", "Github_easy__o13652.json"]

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
TOOLS = [ADD, WEATHER]

# for the provider path (`response_format` json_schema compiled by the server's llguidance): every value
# bounded, so a random model's output ends well within max_tokens
BOUNDED = ToolSpec(
    name="convert",
    description="Convert a distance.",
    parameters={
        "type": "object",
        "properties": {
            "km": {"type": "integer", "minimum": 0, "maximum": 1000},
            "unit": {"enum": ["mi", "m", "ft"]},
        },
        "required": ["km", "unit"],
        "additionalProperties": False,
    },
)
SHORT_FINAL = {"type": "string", "maxLength": 20}


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
        messages=[system_message("You are a helpful assistant."), user_message("Add 2 and 3.")],
        tools=TOOLS if tools is None else tools,
        final_schema=final_schema,
        settings=SamplingSettings(temperature=temperature, max_tokens=max_tokens, seed=seed),
        step=step,
    )


# ------------------------------------------------------------------------------------------- vllm-server:


async def test_vllm_server_decisions_validate(vllm_server: str) -> None:
    """Several seeds at temperature 1.0, no retries allowed: the grammar alone makes every decision valid."""
    model = VLLMServerModel.from_target(f"{vllm_server}#{SERVED_NAME}", max_retries=0)
    assert model.spec == f"vllm-server:{vllm_server}#{SERVED_NAME}"
    schema = decision_schema(TOOLS)
    minimum = compile_decision(TOOLS).min_max_tokens
    branches: set[str] = set()
    for seed in range(6):
        response = await model.decide(request(seed=seed, step=2))
        verdict = check_output(response.raw_text, schema)
        assert verdict.ok, (seed, verdict.error, response.raw_text)
        by_name = {tool.name: tool for tool in TOOLS}
        for index, call in enumerate(response.decision.tool_calls):
            assert call.id == f"call_2_{index}"
            assert check_output(json.dumps(call.arguments), by_name[call.name].parameters).ok
        branches.add("final" if response.decision.is_final else "tools")
        assert 1 <= response.usage.output_tokens <= minimum
    assert model.guaranteed
    assert branches == {"final", "tools"}, branches


async def test_vllm_server_prompt_is_agentflows_plain_template(
    vllm_server: str, vllm_model_dir: Path
) -> None:
    """The server's --chat-template reproduces agentflow's plain template: same prompt tokens as offline."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(vllm_model_dir)
    req = request(seed=3)
    expected = len(tokenizer(to_text(render_chat(req)), add_special_tokens=False)["input_ids"])
    response = await VLLMServerModel(vllm_server, SERVED_NAME).decide(req)
    assert response.usage.input_tokens == expected


async def test_vllm_server_model_name_from_the_server(vllm_server: str) -> None:
    model = VLLMServerModel.from_target(vllm_server.removesuffix("/v1"))  # no /v1, no #MODEL
    assert model.base_url == vllm_server
    response = await model.decide(request(seed=4))
    assert model.name == SERVED_NAME
    assert check_decision_output(response.raw_text, TOOLS).ok


async def test_vllm_server_final_answers_follow_dev_schemas(vllm_server: str) -> None:
    model = VLLMServerModel(vllm_server, SERVED_NAME, max_retries=0)
    for name in DEV_FINAL_SCHEMAS:
        schema = json.loads((DEV_DIR / name).read_text())
        for seed in range(2):
            response = await model.decide(request(seed=seed, tools=[], final_schema=schema))
            assert response.decision.is_final
            verdict = check_output(json.dumps(response.decision.final_answer), schema)
            assert verdict.ok, (name, seed, verdict.error, response.raw_text)


async def test_vllm_server_refuses_max_tokens_below_the_minimum(vllm_server: str) -> None:
    model = VLLMServerModel(vllm_server, SERVED_NAME)
    minimum = compile_decision(TOOLS).min_max_tokens
    with pytest.raises(MaxTokensTooSmallError):
        await model.decide(request(max_tokens=minimum - 1))


async def test_vllm_server_unknown_model_is_an_http_error(vllm_server: str) -> None:
    with pytest.raises(ModelHTTPError) as info:
        await VLLMServerModel(vllm_server, "no-such-model").decide(request())
    assert info.value.status == 404
    assert vllm_server in str(info.value)


# ------------------------------------------------------------------------------------------------ openai:


async def test_openai_path_against_the_vllm_server(vllm_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider path (`response_format` json_schema, validation, retries) returns valid decisions."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AGENTFLOW_OPENAI_API_KEY", raising=False)
    model = OpenAIModel.from_target(f"{SERVED_NAME}@{vllm_server}")
    assert model.spec == f"openai:{SERVED_NAME}@{vllm_server}"
    tools = [BOUNDED]
    for seed in range(4):
        req = request(seed=seed, tools=tools, final_schema=SHORT_FINAL, max_tokens=1024)
        response = await model.decide(req)
        assert check_decision_output(response.raw_text, tools, SHORT_FINAL).ok, response.raw_text
        for call in response.decision.tool_calls:
            assert check_output(json.dumps(call.arguments), BOUNDED.parameters).ok
        assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0


async def test_openai_path_retries_invalid_output_of_a_real_server(
    vllm_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unconstrained (no response_format), the random model's replies are not valid decisions: each is sent
    back with its validation error, every attempt's tokens are counted, and after the retries the step ends
    with InvalidModelOutputError naming the last error."""
    from agentflow.exceptions import InvalidModelOutputError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AGENTFLOW_OPENAI_API_KEY", raising=False)
    model = OpenAIModel(SERVED_NAME, vllm_server, response_format=False, max_retries=2)
    with pytest.raises(InvalidModelOutputError) as caught:
        await model.decide(request(seed=3, tools=[BOUNDED], max_tokens=48))
    error = caught.value
    assert error.attempts == 3 and len(error.outputs) == 3
    assert error.usage.input_tokens > 0 and error.usage.output_tokens >= 3
    # each retry's prompt carried the previous output and its error: the prompts grew
    assert error.usage.input_tokens > 3 * 20
    assert str(error.errors[-1]) in str(error)
