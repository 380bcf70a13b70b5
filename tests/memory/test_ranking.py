"""Full-text, vector and hybrid ranking on a small labelled set (tests/memory/labelled.py) with the bundled
embedding model: hybrid ranking beats each single mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflow.memory import default_index
from agentflow.store import open_storage

from labelled import MEMORIES, QUERIES

pytest.importorskip("onnxruntime", reason="needs the memory extra (scripts/env.sh installs it)")
pytestmark = pytest.mark.anyio


async def test_hybrid_beats_full_text_and_vector_alone(tmp_path: Path) -> None:
    """On queries that need exact words and queries that need meaning, hybrid ranking has a higher mean
    reciprocal rank than either mode alone, and finds every answer in its top 3."""
    async with open_storage(tmp_path / "rank.db", index=default_index()) as storage:
        store = storage.store
        for key, text in MEMORIES.items():
            await store.aput(("user", "u1"), key, {"text": text})
        mrr: dict[str, float] = {}
        top3: dict[str, int] = {}
        for mode in ("fts", "vector", "hybrid"):
            ranks = []
            for query, answer in QUERIES:
                keys = [h.key for h in await store.asearch(("user",), query=query, mode=mode, limit=5)]
                ranks.append(keys.index(answer) + 1 if answer in keys else None)
            mrr[mode] = sum(1 / r for r in ranks if r) / len(QUERIES)
            top3[mode] = sum(1 for r in ranks if r and r <= 3)
        assert mrr["hybrid"] > mrr["vector"] and mrr["hybrid"] > mrr["fts"], mrr
        assert top3["hybrid"] == len(QUERIES), top3
        assert mrr["fts"] < 0.8 and mrr["vector"] < 1.0  # each single mode misses something here
