"""agentflow's checkpointers (SQLite and PostgreSQL) pass LangGraph's own checkpointer conformance suite
(langgraph-checkpoint-conformance), every capability they implement."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate

from agentflow.store import open_storage

pytestmark = pytest.mark.anyio


@checkpointer_test(name="agentflow-sqlite")
async def sqlite_checkpointer() -> AsyncIterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_storage(Path(tmp) / "conformance.db") as storage:
            yield storage.checkpointer


async def _validate(factory: Any) -> None:
    report = await validate(factory)
    report.print_report()
    assert report.passed_all_base()
    assert {name: r.passed for name, r in report.results.items()} == dict.fromkeys(report.results, True)
    assert len(report.results) == 8


async def test_langgraph_checkpointer_conformance() -> None:
    """Every capability passes: the base ones (put, put_writes, get_tuple, list, delete_thread) and the
    extended ones (copy_thread, delete_for_runs, prune)."""
    await _validate(sqlite_checkpointer)


async def test_langgraph_checkpointer_conformance_on_postgresql(pg_url: str) -> None:
    """The PostgreSQL saver passes the same suite, every capability included."""

    @checkpointer_test(name="agentflow-postgresql")
    async def postgres_checkpointer() -> AsyncIterator[Any]:
        async with open_storage(pg_url) as storage:
            async with storage.db.connection() as conn:  # each factory call starts from empty tables
                await conn.execute("TRUNCATE checkpoints, writes")
            yield storage.checkpointer

    await _validate(postgres_checkpointer)
