"""Shared fixtures. Tests never touch the network or the user's database: AGENTFLOW_DB points into tmp."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))  # tests/ helpers (tiny_model.py, ...) import by name

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = [
    "sandbox_fixtures",  # the Docker engine, image and pool of the sandbox tests
    "pg_fixtures",  # a real PostgreSQL server, a fresh database per test
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """agentflow's on-disk cache (what `auto` measured, ...) lives in the session's tmp, not the user's."""
    os.environ["AGENTFLOW_CACHE_DIR"] = str(tmp_path_factory.mktemp("agentflow-cache"))


@pytest.fixture(autouse=True)
def _isolated_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "agentflow.db"
    monkeypatch.setenv("AGENTFLOW_DB", str(db))
    return db


@pytest.fixture
def db_path(_isolated_db: Path) -> Path:
    return _isolated_db


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Llama + BPE tokenizer (tests/tiny_model.py), built once per session.

    Also limits torch to one thread: the test machines are small and shared.
    """
    import torch

    from tiny_model import build_tiny_model

    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


# Work in progress of later issues, kept out of the main run until it lands: the vLLM backends' tests run in
# the vLLM virtualenv (scripts/test runs them there); the demo model's tests need the trained model files.
collect_ignore = ["vllm"]
if not (REPO / "agentflow" / "models" / "demo" / "config.json").exists():
    collect_ignore.append("models/test_demo.py")
