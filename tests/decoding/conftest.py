"""Fixtures for the guaranteed-schema decoding tests: a tiny random Llama, its llguidance tokenizer, the
vendored JSONSchemaBench dev schemas (tests/data/schemas/dev), compiled once, and which mask engines support
each."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEV_DIR = Path(__file__).resolve().parent.parent / "data" / "schemas" / "dev"


def load_dev_schemas() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DEV_DIR.glob("*.json"))}


@pytest.fixture(scope="session")
def dev_schemas() -> dict[str, Any]:
    schemas = load_dev_schemas()
    assert len(schemas) == 230
    return schemas


@pytest.fixture(scope="session")
def compiled_dev(dev_schemas: dict[str, Any]) -> dict[str, Any]:
    """The supported dev schemas, compiled once per session: name -> CompiledSchema."""
    from agentflow.decoding import UnsupportedSchemaError, compile_schema

    out = {}
    for name, schema in dev_schemas.items():
        try:
            out[name] = compile_schema(schema)
        except UnsupportedSchemaError:
            pass
    return out


@pytest.fixture(scope="session")
def engine_support(compiled_dev: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """engine -> {dev schema name: None if supported, else the EngineUnsupportedError}."""
    from agentflow.decoding.engines import ENGINES, supported_engines

    per_schema = {name: supported_engines(comp) for name, comp in compiled_dev.items()}
    return {engine: {name: sup[engine] for name, sup in per_schema.items()} for engine in ENGINES}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_model import (
        build_tiny_model,  # tests/tiny_model.py (tests/ is on sys.path via tests/conftest.py)
    )

    return build_tiny_model(tmp_path_factory.mktemp("decoding_tiny"), vocab_size=768)


@pytest.fixture(scope="session")
def tiny(tiny_model_dir: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    return model, tokenizer


@pytest.fixture(scope="session")
def decoder(tiny: tuple[Any, Any]) -> Any:
    from agentflow.decoding.driver import GuidedDecoder

    model, tokenizer = tiny
    return GuidedDecoder(model, tokenizer)


@pytest.fixture(scope="session")
def ll_tokenizer(decoder: Any) -> Any:
    return decoder.ll_tokenizer
