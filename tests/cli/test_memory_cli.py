"""`agentflow memory add | list | search | show | delete | reindex` and `agentflow run --context`, in a
subprocess against a real run database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("onnxruntime", reason="needs the memory extra")


def agentflow(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTFLOW_DB": str(db), **env},
        timeout=120,
        cwd=REPO,
    )


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_add_list_search_show_delete(tmp_path: Path) -> None:
    """Memories added from a text and a JSONL file are listed, searched in each mode, shown and deleted;
    mistakes are usage errors (exit 2) and a missing memory exits 1."""
    db = tmp_path / "mem.db"
    added = as_json(
        agentflow("memory", "add", "Alice likes green tea", "-n", "user/alice@example.com", "--json", db=db)
    )
    assert added[0]["namespace"] == "user/alice@example.com" and added[0]["key"]
    jsonl = tmp_path / "facts.jsonl"
    jsonl.write_text(
        '{"text": "Invoice INV-20931 was paid", "kind": "event"}\n\n'
        '{"text": "Bob cannot stand coffee", "namespace": "user/bob", "source": "chat"}\n'
    )
    assert len(as_json(agentflow("memory", "add", str(jsonl), "--file", "--json", db=db))) == 2
    listed = as_json(agentflow("memory", "list", "--json", db=db))
    assert {m["namespace"] for m in listed} == {"user/alice@example.com", "memories", "user/bob"}
    by_text = {m["value"]["text"]: m for m in listed}
    assert by_text["Bob cannot stand coffee"]["value"]["source"] == "chat"
    assert by_text["Invoice INV-20931 was paid"]["value"]["kind"] == "event"
    for mode in ("fts", "vector", "hybrid"):
        hits = as_json(
            agentflow("memory", "search", "INV-20931", "--mode", mode, "--limit", "1", "--json", db=db)
        )
        assert [h["value"]["text"] for h in hits] == ["Invoice INV-20931 was paid"], mode
    meaning = as_json(
        agentflow("memory", "search", "who hates espresso", "--mode", "vector", "--json", db=db)
    )
    assert meaning[0]["value"]["text"] == "Bob cannot stand coffee"
    scoped = as_json(agentflow("memory", "search", "tea", "-n", "user/bob", "--json", db=db))
    assert all(h["namespace"] == "user/bob" for h in scoped)
    key = by_text["Bob cannot stand coffee"]["key"]
    shown = as_json(agentflow("memory", "show", key, "-n", "user/bob", "--json", db=db))
    assert shown["value"]["text"] == "Bob cannot stand coffee"
    assert agentflow("memory", "delete", key, "-n", "user/bob", db=db).returncode == 0
    gone = agentflow("memory", "show", key, "-n", "user/bob", db=db)
    assert gone.returncode == 1 and "no memory" in gone.stderr
    bad = agentflow("memory", "search", "x", "--mode", "fuzzy", db=db)
    assert bad.returncode == 2 and "--mode 'fuzzy'" in bad.stderr
    assert agentflow("memory", "list", "-n", "a//b", db=db).returncode == 2
    missing = agentflow("memory", "list", db=tmp_path / "none.db")
    assert missing.returncode == 2 and "no run database" in missing.stderr


def test_reindex_after_writing_without_embeddings(tmp_path: Path) -> None:
    """Memories written with embeddings off are found by meaning once `memory reindex` embedded them."""
    db = tmp_path / "mem.db"
    as_json(
        agentflow(
            "memory", "add", "The user gets seasick on boats", "--json", db=db, AGENTFLOW_EMBEDDINGS="off"
        )
    )
    assert (
        as_json(agentflow("memory", "search", "motion sickness at sea", "--mode", "vector", "--json", db=db))
        == []
    )
    done = agentflow("memory", "reindex", db=db)
    assert done.returncode == 0 and "re-embedded 1 item" in done.stdout
    hits = as_json(
        agentflow("memory", "search", "motion sickness at sea", "--mode", "vector", "--json", db=db)
    )
    assert [h["value"]["text"] for h in hits] == ["The user gets seasick on boats"]


def test_run_context_fills_the_memory_namespace(tmp_path: Path) -> None:
    """`run --context user_id=...` is recorded with the run and fills the memory tools' namespace; a
    malformed --context is a usage error."""
    db = tmp_path / "mem.db"
    graph = tmp_path / "memory_graph.py"
    graph.write_text(
        "import agentflow\nfrom agentflow.toolkit import memory_tools\n\n\n"
        "def make_graph():\n    return agentflow.react_graph(memory_tools())\n"
    )
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "remember", "arguments": {"text": "prefers the aisle seat"}}]},
                {"final_answer": "noted"},
            ]
        )
    )
    run = as_json(
        agentflow(
            "run",
            str(graph),
            "-i",
            "note my seat",
            "-m",
            f"scripted:{script}",
            "-c",
            "user_id=carol",
            "--json",
            db=db,
        )
    )
    assert run["status"] == "succeeded"
    shown = as_json(agentflow("runs", "show", run["run_id"], "--json", db=db))
    assert shown["run"]["context"] == {"user_id": "carol"}
    listed = as_json(agentflow("memory", "list", "-n", "user/carol", "--json", db=db))
    assert [m["value"]["text"] for m in listed] == ["prefers the aisle seat"]
    bad = agentflow("run", str(graph), "-i", "x", "-m", f"scripted:{script}", "--context", "user id", db=db)
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
