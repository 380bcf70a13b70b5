"""The `--model SPEC` grammar and model loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflow.exceptions import ModelSpecError
from agentflow.models.spec import load_model, parse_model_spec
from agentflow.testing import ScriptedModel


def test_parse_known_backends() -> None:
    """Each backend prefix parses into backend and target."""
    assert parse_model_spec("scripted:a.json").backend == "scripted"
    assert parse_model_spec("transformers:/m").target == "/m"
    assert parse_model_spec("vllm-server:http://127.0.0.1:8000#tiny").target == "http://127.0.0.1:8000#tiny"
    assert parse_model_spec("openai:gpt-4o@http://127.0.0.1:8000/v1").backend == "openai"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty model spec"),
        ("gpt4", "no backend prefix"),
        ("llama:x", "unknown model backend 'llama'"),
        ("scripted:", "names no file"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    """Malformed specs raise ModelSpecError naming the problem and the grammar."""
    with pytest.raises(ModelSpecError, match=message):
        parse_model_spec(spec)


def test_every_backend_loads_or_names_the_problem(tmp_path: Path) -> None:
    """vllm / vllm-server / openai specs build their backends (nothing is contacted or started until the first
    decision); a missing model directory or a malformed URL is a ModelSpecError, not an import error."""
    from agentflow.models.openai import OpenAIModel
    from agentflow.models.vllm_server import VLLMServerModel

    with pytest.raises(ModelSpecError, match="does not exist"):
        load_model(f"vllm:{tmp_path / 'none'}")
    server = load_model("vllm-server:http://127.0.0.1:9#tiny")
    assert isinstance(server, VLLMServerModel) and server.spec == "vllm-server:http://127.0.0.1:9/v1#tiny"
    hosted = load_model("openai:gpt-4o-mini@http://127.0.0.1:9/v1")
    assert isinstance(hosted, OpenAIModel) and hosted.spec == "openai:gpt-4o-mini@http://127.0.0.1:9/v1"
    with pytest.raises(ModelSpecError):
        load_model("vllm-server:not-a-url")
    with pytest.raises(ModelSpecError, match="unknown option 'speed=fast'"):
        load_model(f"transformers:{tmp_path}?speed=fast")


def test_scripted_file_loads_and_bad_files_are_clear(tmp_path: Path) -> None:
    """A scripted file loads; a missing, non-JSON or malformed file is a ModelSpecError."""
    good = tmp_path / "s.json"
    good.write_text(json.dumps([{"final_answer": "x"}]))
    model = load_model(f"scripted:{good}")
    assert isinstance(model, ScriptedModel) and model.spec == f"scripted:{good}"
    with pytest.raises(ModelSpecError, match="not found"):
        load_model(f"scripted:{tmp_path / 'none.json'}")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ModelSpecError, match="not valid JSON"):
        load_model(f"scripted:{bad}")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"reasoning": "neither"}]))
    with pytest.raises(ModelSpecError, match="decision #0"):
        load_model(f"scripted:{wrong}")


def test_demo_spec_names_the_bundled_model() -> None:
    """`demo` is a spec of its own, pointing into the installed package."""
    parsed = parse_model_spec("demo")
    assert parsed.backend == "demo" and str(parsed) == "demo"
    assert parsed.target.endswith("agentflow/models/demo")
