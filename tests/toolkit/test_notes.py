"""The notes tools: notes kept in the run database's document store, searchable across runs (full-text)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.store import open_storage
from agentflow.tooling import RunContext, execute_call
from agentflow.toolkit import search_notes, write_note

pytestmark = pytest.mark.anyio

TOOLS = {write_note.name: write_note, search_notes.name: search_notes}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Any]:
    async with open_storage(tmp_path / "run.db") as storage:
        yield storage.store


def ctx(store: Any, run_id: str = "r", call_id: str = "") -> RunContext:
    return RunContext(run_id=run_id, call_id=call_id, store=store)


def _ids(results: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in results]


async def test_write_then_search_from_another_run(store: Any) -> None:
    """A note written in one run is found by a search in another run, with its origin recorded."""
    written = await write_note.function("The capital of France is Paris", ctx(store, "run-1"))
    assert written["run_id"] == "run-1" and isinstance(written["id"], str)
    found = await search_notes.function("capital", ctx(store, "run-2"))
    assert len(found) == 1
    assert found[0]["text"] == "The capital of France is Paris"
    assert found[0]["run_id"] == "run-1" and found[0]["id"] == written["id"]
    assert set(found[0]) == {"id", "text", "run_id", "created_at"}


async def test_search_ranks_by_relevance_and_matches_any_word(store: Any) -> None:
    """Notes matching more query words rank first, and a note matching only one word is still found."""
    only_pie = (await write_note.function("pie recipe for the party", ctx(store)))["id"]
    both = (await write_note.function("apple pie with cinnamon apple slices", ctx(store)))["id"]
    await write_note.function("unrelated shopping list", ctx(store))
    assert _ids(await search_notes.function("apple pie", ctx(store))) == [both, only_pie]


async def test_search_stems_words(store: Any) -> None:
    """Full-text search stems words, so 'apples' finds a note about an apple."""
    await write_note.function("buy one apple", ctx(store))
    assert len(await search_notes.function("apples", ctx(store))) == 1


@pytest.mark.parametrize(
    ("query", "hits"),
    [
        ('"foo" OR (', 1),
        ("foo*", 1),
        ("NEAR(foo", 1),
        ("foo AND NOT", 1),
        ("text:foo", 1),
        ("foo^ -", 1),
        ('"""', 0),
        ("zebra (", 0),
    ],
)
async def test_awkward_queries_do_not_break_fts(store: Any, query: str, hits: int) -> None:
    """Quotes, parentheses and FTS operators in the query are treated as plain words, never as syntax."""
    await write_note.function('He said "foo" OR (bar) about it', ctx(store))
    await write_note.function("something else entirely", ctx(store))
    assert len(await search_notes.function(query, ctx(store))) == hits


async def test_substring_fallback_for_symbols(store: Any) -> None:
    """When full-text search finds nothing, a substring match (with % and _ taken literally) is used."""
    plus = (await write_note.function("C++ templates", ctx(store)))["id"]
    percent = (await write_note.function("growth was 100% this year", ctx(store)))["id"]
    await write_note.function("1000 items", ctx(store))
    assert _ids(await search_notes.function("++", ctx(store))) == [plus]
    assert _ids(await search_notes.function("100%", ctx(store))) == [percent]
    assert _ids(await search_notes.function("%", ctx(store))) == [percent]
    assert await search_notes.function("_", ctx(store)) == []
    assert await search_notes.function("emplat", ctx(store))
    assert await search_notes.function("zebra", ctx(store)) == []


async def test_empty_query_lists_recent_notes_up_to_limit(store: Any) -> None:
    """An empty query returns the most recent notes, newest first, capped by `limit`."""
    ids = [(await write_note.function(f"note {i}", ctx(store)))["id"] for i in range(4)]
    assert _ids(await search_notes.function("", ctx(store), limit=3)) == ids[::-1][:3]


async def test_a_repeated_call_writes_one_note(store: Any) -> None:
    """The note's key comes from the run and call id: a resumed run repeating the call cannot write it twice."""
    first = await write_note.function("pay the gas bill", ctx(store, "run-9", "call_1_0"))
    again = await write_note.function("pay the gas bill", ctx(store, "run-9", "call_1_0"))
    other = await write_note.function("pay the gas bill", ctx(store, "run-9", "call_2_0"))
    assert first["id"] == again["id"] != other["id"]
    assert len(await search_notes.function("gas", ctx(store))) == 2


async def test_without_run_database() -> None:
    """Both tools raise `ToolError` when the run has no database."""
    with pytest.raises(ToolError, match="notes need a run database"):
        await write_note.function("hello", RunContext(run_id="r"))
    with pytest.raises(ToolError, match="notes need a run database"):
        await search_notes.function("hello", RunContext(run_id="r"))


async def test_blank_note_refused(store: Any) -> None:
    """A note of only whitespace is refused."""
    with pytest.raises(ToolError, match="empty"):
        await write_note.function("   ", ctx(store))


def test_tool_metadata() -> None:
    """write_note is neither destructive nor idempotent, search_notes read-only, and neither exposes ctx."""
    assert not write_note.destructive and not write_note.idempotent and not write_note.read_only
    assert search_notes.read_only and search_notes.idempotent
    assert write_note.context_param == "ctx" and search_notes.context_param == "ctx"
    assert "ctx" not in write_note.parameters["properties"]
    assert set(search_notes.parameters["properties"]) == {"query", "limit"}
    assert search_notes.parameters["properties"]["limit"]["maximum"] == 20


async def test_through_execute_call(store: Any) -> None:
    """Through the executor the context is injected, results are JSON, and schema limits are enforced."""
    saved = await execute_call(
        ToolCall(name="write_note", arguments={"text": "meeting moved to Friday"}), TOOLS, ctx(store, "run-1")
    )
    assert not saved.is_error and isinstance(saved.result["id"], str)
    found = await execute_call(
        ToolCall(name="search_notes", arguments={"query": "friday", "limit": 2}), TOOLS, ctx(store, "run-2")
    )
    assert not found.is_error
    assert [n["text"] for n in found.result] == ["meeting moved to Friday"]
    too_many = await execute_call(
        ToolCall(name="search_notes", arguments={"query": "x", "limit": 50}), TOOLS, ctx(store)
    )
    assert too_many.error_type == "invalid_arguments" and "argument 'limit'" in too_many.content
    too_long = await execute_call(
        ToolCall(name="write_note", arguments={"text": "x" * 2001}), TOOLS, ctx(store)
    )
    assert too_long.error_type == "invalid_arguments" and "argument 'text'" in too_long.content
    no_db = await execute_call(
        ToolCall(name="write_note", arguments={"text": "x"}), TOOLS, RunContext(run_id="r")
    )
    assert no_db.is_error and "notes need a run database" in no_db.content


async def test_concurrent_writers(store: Any) -> None:
    """Parallel writes (parallel tool calls) all land."""
    import anyio

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(write_note.function, f"note from run-{i}", ctx(store, f"run-{i}", "call_1_0"))
    assert len(await search_notes.function("note", ctx(store), limit=20)) == 8


async def test_with_embeddings_notes_still_search_by_words(tmp_path: Path) -> None:
    """On a store with embeddings, a note is committed without waiting for the model and search stays
    full-text (a query no note contains finds nothing, not the nearest note)."""
    index = {"dims": 2, "embed": lambda texts: [[1.0, float(len(t))] for t in texts], "model_id": "len"}
    async with open_storage(tmp_path / "emb.db", index=index) as storage:
        await write_note.function("water the ficus on Sunday", ctx(storage.store))
        assert [n["text"] for n in await search_notes.function("ficus", ctx(storage.store))] == [
            "water the ficus on Sunday"
        ]
        assert await search_notes.function("zebra", ctx(storage.store)) == []
        await storage.store.aflush()
        hits = await storage.store.asearch(("notes",), query="ficus", mode="vector")
        assert [h.value["text"] for h in hits] == ["water the ficus on Sunday"]
