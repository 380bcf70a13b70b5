"""The SQLite run database file: created marked as agentflow's, upgraded in place, and every file agentflow
did not create refused untouched (whatever tables it happens to have)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import agentflow
from agentflow.exceptions import ConfigError, StoreError
from agentflow.store import open_storage, parse_db_url, resolve_db_url
from agentflow.store.sqlite import APPLICATION_ID, SCHEMA_VERSION
from agentflow.testing import ScriptedModel

pytestmark = pytest.mark.anyio


async def _open(path: Path) -> None:
    async with open_storage(path):
        pass


def _files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.iterdir()}


async def test_new_database_is_marked_and_versioned(tmp_path: Path) -> None:
    """A new file carries agentflow's application id in its header and records its schema version."""
    path = tmp_path / "a.db"
    await _open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert (
        int(conn.execute("SELECT value FROM agentflow_meta WHERE key='schema_version'").fetchone()[0])
        == SCHEMA_VERSION
    )
    assert (
        int.from_bytes(path.read_bytes()[68:72], "big") == APPLICATION_ID
    )  # in the file itself, not only the WAL


def test_urls_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--db wins over $AGENTFLOW_DB, which wins over the default; sqlite:/// URLs and plain paths both work."""
    monkeypatch.setenv("AGENTFLOW_DB", str(tmp_path / "env.db"))
    assert resolve_db_url(None).path == tmp_path / "env.db"
    assert resolve_db_url(tmp_path / "flag.db").path == tmp_path / "flag.db"
    assert parse_db_url(f"sqlite://{tmp_path}/u.db").path == tmp_path / "u.db"
    assert parse_db_url("sqlite:///./rel.db").path == Path("./rel.db")
    assert parse_db_url("postgresql://u:secret@h/db").backend == "postgresql"
    assert "secret" not in str(parse_db_url("postgresql://u:secret@h/db"))
    with pytest.raises(ConfigError, match="unknown database URL scheme"):
        parse_db_url("mysql://h/db")
    monkeypatch.delenv("AGENTFLOW_DB")
    assert resolve_db_url(None).path is not None and resolve_db_url(None).path.name == "agentflow.db"


async def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not SQLite is refused with its path, and nothing is written next to it."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db is not a usable SQLite database"):
        await _open(path)
    assert _files(tmp_path) == {"junk.db": b"this is not a database" * 100}


async def test_truncated_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """A database cut short is refused, and no -wal / -shm files are left next to it."""
    path = tmp_path / "t.db"
    for n in range(5):
        await agentflow.run(
            agentflow.react_graph([]), "x" * 2000, model=ScriptedModel([{"final_answer": str(n)}]), db=path
        )
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    for sidecar in ("t.db-wal", "t.db-shm"):
        (tmp_path / sidecar).unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(StoreError, match=r"t\.db .*truncated"):
        await _open(path)
    assert sorted(_files(tmp_path)) == ["t.db"]


@pytest.mark.parametrize(
    "tables",
    [
        ["CREATE TABLE customers (id INTEGER)", "CREATE TABLE orders (id INTEGER)"],
        ["CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT, pinned INTEGER)"],
        ["CREATE TABLE checkpoints (x)", "CREATE TABLE writes (y)"],
        [],
    ],
)
async def test_foreign_database_refused_untouched(tmp_path: Path, tables: list[str]) -> None:
    """Another application's SQLite file is never adopted — even one whose tables look like agentflow's or a
    tool's — and not a byte of it changes (no WAL switch, no tables added)."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    for statement in tables or ["CREATE TABLE t (x)", "DROP TABLE t"]:
        conn.execute(statement)
    conn.commit()
    conn.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError, match="not an agentflow database"):
        await _open(path)
    assert _files(tmp_path) == before
    with pytest.raises(StoreError):
        await agentflow.run(
            agentflow.react_graph([]), "x", model=ScriptedModel([{"final_answer": "1"}]), db=path
        )
    assert _files(tmp_path) == before


async def test_another_applications_marked_file_refused(tmp_path: Path) -> None:
    """A file marked with another application id is refused by its header alone."""
    path = tmp_path / "marked.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 12345")
    conn.execute("CREATE TABLE agentflow_meta (key TEXT, value TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another application"):
        await _open(path)


async def test_newer_schema_refused(tmp_path: Path) -> None:
    """A database from a newer agentflow is refused with advice to upgrade."""
    path = tmp_path / "new.db"
    await _open(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE agentflow_meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer agentflow"):
        await _open(path)


async def test_older_unmarked_agentflow_file_is_upgraded(tmp_path: Path) -> None:
    """A file written by an older agentflow (schema 3, no marker, notes in their own table) is adopted: marked,
    migrated, its runs readable and its notes moved into the document store."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE agentflow_meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO agentflow_meta VALUES ('schema_version', '3');
        CREATE TABLE runs (id TEXT PRIMARY KEY, graph TEXT NOT NULL, input TEXT, status TEXT NOT NULL, output TEXT,
            partial TEXT, usage TEXT, cost_usd REAL DEFAULT 0, budget TEXT, budget_exhausted TEXT, error TEXT,
            model TEXT, settings TEXT, seed INTEGER, parent_id TEXT, created_at TEXT NOT NULL, started_at TEXT,
            finished_at TEXT, wall_s REAL DEFAULT 0, owner TEXT, pending TEXT, forked_from TEXT);
        INSERT INTO runs (id, graph, input, status, output, usage, created_at)
            VALUES ('old1', 'react', '"hi"', 'succeeded', '"4"', '{}', '2026-01-01T00:00:00');
        CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, step INTEGER,
            agent TEXT, ts TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq));
        CREATE TABLE tool_journal (run_id TEXT NOT NULL, task TEXT NOT NULL, call_id TEXT NOT NULL, tool TEXT NOT
            NULL, arguments TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT, started_at TEXT NOT NULL,
            finished_at TEXT, PRIMARY KEY (run_id, task, call_id));
        CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, run_id TEXT NOT NULL, created_at TEXT NOT NULL);
        INSERT INTO notes VALUES (1, 'the boiler was serviced', 'old1', '2026-01-01T00:00:00');
    """)
    conn.close()
    async with open_storage(path) as storage:
        assert (await storage.get_run("old1")).output == "4"
        [note] = await storage.store.asearch(("notes",), query="boiler")
        assert note.key == "1" and note.value["run_id"] == "old1"
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


async def test_a_directory_is_refused(tmp_path: Path) -> None:
    """A directory given as the database is a clear error."""
    with pytest.raises(StoreError, match="is a directory"):
        await _open(tmp_path)


def test_a_database_whose_creation_was_cut_short_reads_as_no_runs(tmp_path: Path) -> None:
    """A process killed while it created the file leaves it empty, or marked without tables: read-only views
    (runs list / show) see no runs instead of refusing it, and opening it for writing finishes the job."""
    import sqlite3

    from agentflow.store import RunStore

    empty = tmp_path / "empty.db"
    empty.touch()
    marked = tmp_path / "marked.db"
    conn = sqlite3.connect(marked, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.close()
    for path in (empty, marked):
        with RunStore(path) as store:
            assert store.list_runs() == [] and store.events("x") == []
