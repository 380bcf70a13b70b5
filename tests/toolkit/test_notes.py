"""The notes tools: notes kept in the run database, searchable across runs with full-text search."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agentflow.exceptions import ToolError
from agentflow.messages import ToolCall
from agentflow.toolkit import search_notes, write_note
from agentflow.tooling import RunContext, execute_call

TOOLS = {write_note.name: write_note, search_notes.name: search_notes}


@pytest.fixture
def run_db(tmp_path: Path) -> Path:
    return tmp_path / "run.db"


def _ids(results: list[dict]) -> list[int]:
    return [r["id"] for r in results]


def test_write_then_search_from_another_run(run_db: Path) -> None:
    """A note written in one run is found by a search in another run, with its origin recorded."""
    first = RunContext(run_id="run-1", db_path=run_db)
    second = RunContext(run_id="run-2", db_path=run_db)
    written = write_note.function("The capital of France is Paris", first)
    assert written["id"] == 1 and written["run_id"] == "run-1"
    found = search_notes.function("capital", second)
    assert len(found) == 1
    assert found[0]["text"] == "The capital of France is Paris"
    assert found[0]["run_id"] == "run-1"
    assert set(found[0]) == {"id", "text", "run_id", "created_at"}


def test_search_ranks_by_relevance_and_matches_any_word(run_db: Path) -> None:
    """Notes matching more query words rank first, and a note matching only one word is still found."""
    ctx = RunContext(run_id="r", db_path=run_db)
    only_pie = write_note.function("pie recipe for the party", ctx)["id"]
    both = write_note.function("apple pie with cinnamon apple slices", ctx)["id"]
    write_note.function("unrelated shopping list", ctx)
    assert _ids(search_notes.function("apple pie", ctx)) == [both, only_pie]


def test_search_stems_words(run_db: Path) -> None:
    """Full-text search stems words, so 'apples' finds a note about an apple."""
    ctx = RunContext(run_id="r", db_path=run_db)
    write_note.function("buy one apple", ctx)
    assert len(search_notes.function("apples", ctx)) == 1


@pytest.mark.parametrize(
    ("query", "hits"),
    [('"foo" OR (', 1), ("foo*", 1), ("NEAR(foo", 1), ("foo AND NOT", 1), ("text:foo", 1), ("foo^ -", 1),
     ('"""', 0), ("zebra (", 0)],
)
def test_awkward_queries_do_not_break_fts(run_db: Path, query: str, hits: int) -> None:
    """Quotes, parentheses and FTS operators in the query are treated as plain words, never as syntax."""
    ctx = RunContext(run_id="r", db_path=run_db)
    write_note.function('He said "foo" OR (bar) about it', ctx)
    write_note.function("something else entirely", ctx)
    assert len(search_notes.function(query, ctx)) == hits


def test_like_fallback_for_substrings_and_symbols(run_db: Path) -> None:
    """When full-text search finds nothing, a substring match (with % and _ taken literally) is used."""
    ctx = RunContext(run_id="r", db_path=run_db)
    plus = write_note.function("C++ templates", ctx)["id"]
    percent = write_note.function("growth was 100% this year", ctx)["id"]
    write_note.function("1000 items", ctx)
    assert _ids(search_notes.function("++", ctx)) == [plus]
    assert _ids(search_notes.function("100%", ctx)) == [percent]
    assert _ids(search_notes.function("%", ctx)) == [percent]
    assert search_notes.function("_", ctx) == []
    assert search_notes.function("emplat", ctx) and search_notes.function("zebra", ctx) == []


def test_empty_query_lists_recent_notes_up_to_limit(run_db: Path) -> None:
    """An empty query returns the most recent notes, newest first, capped by `limit`."""
    ctx = RunContext(run_id="r", db_path=run_db)
    ids = [write_note.function(f"note {i}", ctx)["id"] for i in range(4)]
    assert _ids(search_notes.function("", ctx, limit=3)) == ids[::-1][:3]


def test_search_before_any_note_does_not_create_the_database(run_db: Path) -> None:
    """Searching a database with no notes returns nothing and, being read-only, creates no file."""
    assert search_notes.function("anything", RunContext(run_id="r", db_path=run_db)) == []
    assert not run_db.exists()


def test_search_database_without_notes_table(run_db: Path) -> None:
    """A run database that exists but has no notes table gives an empty result and is left unchanged."""
    sqlite3.connect(run_db).close()
    assert search_notes.function("anything", RunContext(run_id="r", db_path=run_db)) == []
    with sqlite3.connect(run_db) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_fts_index_follows_the_table(run_db: Path) -> None:
    """The FTS index is kept in sync by triggers, so an edited note is found by its new text only."""
    ctx = RunContext(run_id="r", db_path=run_db)
    note_id = write_note.function("old wording", ctx)["id"]
    with sqlite3.connect(run_db) as conn:
        conn.execute("UPDATE notes SET text = 'fresh wording' WHERE id = ?", [note_id])
    assert _ids(search_notes.function("fresh", ctx)) == [note_id]
    assert search_notes.function("old", ctx) == []


def test_without_run_database() -> None:
    """Both tools raise `ToolError` when the run has no database."""
    ctx = RunContext(run_id="r")
    with pytest.raises(ToolError, match="notes need a run database"):
        write_note.function("hello", ctx)
    with pytest.raises(ToolError, match="notes need a run database"):
        search_notes.function("hello", ctx)


def test_blank_note_refused(run_db: Path) -> None:
    """A note of only whitespace is refused."""
    with pytest.raises(ToolError, match="empty"):
        write_note.function("   ", RunContext(run_id="r", db_path=run_db))


def test_tool_metadata() -> None:
    """write_note is neither destructive nor idempotent, search_notes read-only, and neither exposes ctx."""
    assert not write_note.destructive and not write_note.idempotent and not write_note.read_only
    assert search_notes.read_only and search_notes.idempotent
    assert write_note.context_param == "ctx" and search_notes.context_param == "ctx"
    assert "ctx" not in write_note.parameters["properties"]
    assert set(search_notes.parameters["properties"]) == {"query", "limit"}
    assert search_notes.parameters["properties"]["limit"]["maximum"] == 20


@pytest.mark.anyio
async def test_through_execute_call(run_db: Path) -> None:
    """Through the executor the context is injected, results are JSON, and schema limits are enforced."""
    writer = RunContext(run_id="run-1", db_path=run_db)
    reader = RunContext(run_id="run-2", db_path=run_db)
    saved = await execute_call(ToolCall(name="write_note", arguments={"text": "meeting moved to Friday"}),
                               TOOLS, writer)
    assert not saved.is_error and saved.result["id"] == 1
    found = await execute_call(ToolCall(name="search_notes", arguments={"query": "friday", "limit": 2}),
                               TOOLS, reader)
    assert not found.is_error
    assert [n["text"] for n in found.result] == ["meeting moved to Friday"]
    too_many = await execute_call(ToolCall(name="search_notes", arguments={"query": "x", "limit": 50}),
                                  TOOLS, reader)
    assert too_many.error_type == "invalid_arguments" and "argument 'limit'" in too_many.content
    too_long = await execute_call(ToolCall(name="write_note", arguments={"text": "x" * 2001}), TOOLS, writer)
    assert too_long.error_type == "invalid_arguments" and "argument 'text'" in too_long.content
    no_db = await execute_call(ToolCall(name="write_note", arguments={"text": "x"}), TOOLS, RunContext(run_id="r"))
    assert no_db.is_error and "notes need a run database" in no_db.content


def test_concurrent_writers_on_a_fresh_database(run_db: Path) -> None:
    """Parallel first writes (parallel tool calls) all land, racing on schema creation without errors."""
    from concurrent.futures import ThreadPoolExecutor

    contexts = [RunContext(run_id=f"run-{i}", db_path=run_db) for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: write_note.function(f"note from {c.run_id}", c), contexts))
    assert sorted(r["id"] for r in results) == list(range(1, 9))
    assert len(search_notes.function("note", contexts[0], limit=20)) == 8
