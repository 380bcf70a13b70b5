"""The SQLite group-commit writer: concurrent writes share transactions, a bad write fails alone, two
processes share one file without lock errors or lost rows, and a SIGKILL mid-commit loses nothing that was
acknowledged."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentflow.events import StepStarted
from agentflow.exceptions import StoreError
from agentflow.store import open_storage
from agentflow.store.base import NewRun

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]


def new_run(run_id: str) -> NewRun:
    return NewRun(run_id=run_id, graph="g", input="x", model=None, settings={}, seed=None, budget={})


async def test_concurrent_writes_share_transactions(tmp_path: Path) -> None:
    """200 runs writing at once need far fewer transactions than writes, and every row lands."""
    async with open_storage(tmp_path / "g.db") as storage:
        before = storage.writer.stats.transactions

        async def one(i: int) -> None:
            lease = await storage.create_run(new_run(f"r{i}"), owner="h:1:1")
            storage.record(lease, [StepStarted(run_id=f"r{i}", step=1)], {"steps": 1})
            await storage.journal_start(lease, "t", "c", "pay", {"i": i}, {"steps": 1, "tool_calls": 1})

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
        transactions = storage.writer.stats.transactions - before
        assert transactions < 200, transactions  # 400 awaited writes + 200 queued ones
        assert len(await storage.list_runs(limit=1000)) == 200
        assert {str(r.usage) for r in await storage.list_runs(limit=1000)} == {
            str({"steps": 1, "tool_calls": 1})
        }


async def test_a_failing_write_fails_alone(tmp_path: Path) -> None:
    """A write that breaks a constraint raises for its caller only; the others in its transaction commit."""
    async with open_storage(tmp_path / "g.db") as storage:
        await storage.create_run(new_run("dup"), owner="h:1:1")
        results: dict[str, Any] = {}

        async def create(run_id: str) -> None:
            try:
                await storage.create_run(new_run(run_id), owner="h:1:1")
                results[run_id] = "ok"
            except StoreError as exc:
                results[run_id] = exc

        async with anyio.create_task_group() as tg:
            for run_id in ("a", "dup", "b"):
                tg.start_soon(create, run_id)
        assert results["a"] == results["b"] == "ok" and isinstance(results["dup"], StoreError)
        assert "UNIQUE" in str(results["dup"])
        assert sorted(r.id for r in await storage.list_runs()) == ["a", "b", "dup"]


WRITER = textwrap.dedent("""
    import sys, anyio
    from agentflow.events import StepStarted
    from agentflow.store import open_storage
    from agentflow.store.base import NewRun

    path, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

    async def main():
        async with open_storage(path) as storage:
            async def one(i):
                run_id = f"{prefix}{i}"
                lease = await storage.create_run(NewRun(run_id=run_id, graph="g", input=i, model=None, settings={},
                                                        seed=None, budget={}), owner=f"h:{prefix}:1")
                for step in range(5):
                    storage.record(lease, [StepStarted(run_id=run_id, step=step)], {"steps": step})
                await storage.journal_start(lease, "t", f"call{i}", "pay", {"i": i})
                print(run_id, flush=True)  # acknowledged: durable from here on
            async with anyio.create_task_group() as tg:
                for i in range(count):
                    tg.start_soon(one, i)

    anyio.run(main)
""")


def _writer(path: Path, prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), prefix, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def test_two_processes_on_one_file(tmp_path: Path) -> None:
    """Two processes writing 150 runs each at the same time: no lock error, no lost row."""
    path = tmp_path / "shared.db"
    procs = [_writer(path, prefix, 150) for prefix in ("a", "b")]
    try:
        results = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:  # (a failed assertion leaves no process behind)
            proc.kill()
            proc.wait()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and len(out.split()) == 150
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 300
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1500
    assert conn.execute("SELECT COUNT(*) FROM tool_journal WHERE status = 'started'").fetchone()[0] == 300
    seqs = conn.execute("SELECT run_id, GROUP_CONCAT(seq) FROM events GROUP BY run_id").fetchall()
    assert all(json.loads(f"[{s}]") == [1, 2, 3, 4, 5] for _, s in seqs)


def test_sigkill_during_group_commits_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """A process killed while its writer is busy committing: every `started` mark it acknowledged (the await
    returned) is on disk, and the file opens cleanly afterwards."""
    path = tmp_path / "killed.db"
    proc = _writer(path, "k", 5000)
    assert proc.stdout is not None
    acked = []
    for line in proc.stdout:
        acked.append(line.strip())
        if len(acked) == 300:
            proc.send_signal(signal.SIGKILL)
            break
    rest, _ = proc.communicate(timeout=60)
    acked += rest.split()
    assert proc.returncode == -signal.SIGKILL and len(acked) < 5000
    conn = sqlite3.connect(path)
    marks = {r[0] for r in conn.execute("SELECT run_id FROM tool_journal WHERE status = 'started'")}
    assert set(acked) <= marks
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_opening_a_database_does_not_wait_for_other_writers(tmp_path: Path) -> None:
    """A file already at this schema is opened without taking the write lock: another process writing (here a
    connection holding a write transaction) neither blocks the open nor makes it fail as locked."""
    path = tmp_path / "busy.db"
    async with open_storage(path):
        pass
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO agentflow_meta VALUES ('someone', 'writing')")
        async with open_storage(path) as storage:
            assert await storage.list_runs() == []
        other.execute("COMMIT")
    finally:
        other.close()
