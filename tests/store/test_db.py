"""The run database: creation, schema version, and refusing files it cannot use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import agentflow
from agentflow.exceptions import StoreError
from agentflow.store import SCHEMA_VERSION, RunStore, resolve_db_path
from agentflow.testing import ScriptedModel


def test_schema_version_recorded(tmp_path: Path) -> None:
    """A new database records its schema version so later versions can migrate."""
    RunStore(tmp_path / "a.db").close()
    row = (
        sqlite3.connect(tmp_path / "a.db")
        .execute("SELECT value FROM agentflow_meta WHERE key='schema_version'")
        .fetchone()
    )
    assert int(row[0]) == SCHEMA_VERSION


def test_env_and_flag_choose_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--db wins over $AGENTFLOW_DB, which wins over the default."""
    monkeypatch.setenv("AGENTFLOW_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(None) == tmp_path / "env.db"
    assert resolve_db_path(tmp_path / "flag.db") == tmp_path / "flag.db"
    monkeypatch.delenv("AGENTFLOW_DB")
    assert resolve_db_path(None).name == "agentflow.db"


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not SQLite is refused with its path, and left untouched."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        RunStore(path)
    assert path.read_bytes() == b"this is not a database" * 100


def test_truncated_database_is_a_clear_error(tmp_path: Path) -> None:
    """A database cut short is refused rather than silently recreated."""
    path = tmp_path / "t.db"
    for n in range(5):
        agentflow.run_sync(
            agentflow.react_graph([]), "x" * 2000, model=ScriptedModel([{"final_answer": str(n)}]), db=path
        )
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(StoreError, match=r"t\.db"):
        store = RunStore(path)
        for record in store.list_runs():
            store.events(record.id)


def test_foreign_database_refused(tmp_path: Path) -> None:
    """Another application's SQLite file is not adopted."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an agentflow database"):
        RunStore(path)
    assert path.read_bytes() == before  # not even switched to WAL mode
    assert not (tmp_path / "other.db-wal").exists()


def test_newer_schema_refused(tmp_path: Path) -> None:
    """A database from a newer agentflow is refused with advice to upgrade."""
    path = tmp_path / "new.db"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE agentflow_meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer agentflow"):
        RunStore(path)
