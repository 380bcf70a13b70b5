"""The bundled demo model loads in vLLM (offline engine) and decides under agentflow's grammar there too."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("vllm")

from agentflow.messages import system_message, user_message
from agentflow.models.base import ModelRequest, SamplingSettings
from agentflow.models.output_check import check_decision_output
from agentflow.models.vllm import VLLMModel

DEMO = Path(__file__).resolve().parents[2] / "agentflow" / "models" / "demo"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not (DEMO / "config.json").exists(), reason="the demo model is not built"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


async def test_demo_model_decides_in_vllm() -> None:
    """`vllm:<demo dir>`: the standard Hugging Face files load in vLLM's CPU engine, and the first decision for
    an arithmetic request is a valid calculator call."""
    from agentflow.graphs.react import SYSTEM_PROMPT  # the bundled react graph's prompt
    from agentflow.toolkit import DEFAULT_TOOLS

    model = VLLMModel(DEMO, max_model_len=2048)
    try:
        tools = [t.spec for t in DEFAULT_TOOLS]
        request = ModelRequest(
            messages=[system_message(SYSTEM_PROMPT), user_message("What is 17 * 23 + 4?")],
            tools=tools,
            settings=SamplingSettings(temperature=0.0),
            step=1,
        )
        response = await model.decide(request)
    finally:
        model.close()
    assert check_decision_output(response.raw_text, tools).ok
    assert [c.name for c in response.decision.tool_calls] == ["calculator"]
