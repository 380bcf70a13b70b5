"""PostgreSQL trouble mid-run gives a retry or a typed error, never a corrupt run: a server restart, dropped
connections, an exhausted pool, a server that stays down. Against real servers (a private cluster for the
restarts: scripts/postgres.sh)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import psycopg
import pytest
from pg_fixtures import pg_unavailable, server_url

import agentflow
from agentflow.exceptions import DatabaseUnavailableError
from agentflow.store import open_storage
from agentflow.testing import ScriptedModel

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]


class Cluster:
    """A private PostgreSQL cluster (scripts/postgres.sh) this test may restart and stop."""

    def __init__(self) -> None:
        server_url()  # skip (or, under CI, fail) like every PostgreSQL test when there is none
        self.dir = tempfile.mkdtemp(prefix="agentflow-pg-faults-")
        self.env = {**os.environ, "AGENTFLOW_PG_DIR": self.dir, "AGENTFLOW_PG_PORT": "56432"}
        out = self.script("start")
        if out.returncode == 3:
            pg_unavailable(
                "the fault tests need PostgreSQL's server binaries (sudo apt-get install -y postgresql)"
            )
        assert out.returncode == 0, out.stderr
        self.url = out.stdout.strip().split("=", 1)[1]

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REPO / "scripts" / "postgres.sh"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        yield c
    finally:
        c.script("stop")


def graph_with(action: object) -> object:
    @agentflow.tool(timeout_s=None)
    def disrupt() -> str:
        """Disturb the database, then report."""
        action()  # type: ignore[operator]
        return "disturbed"

    return agentflow.react_graph([disrupt])


SCRIPT = [
    {"reasoning": "r", "tool_calls": [{"name": "disrupt", "arguments": {}}]},
    {"reasoning": "r", "final_answer": "survived"},
]


async def _run_and_check(db: str, graph: object) -> None:
    async with agentflow.Runner(db) as runner:
        result = await runner.run(graph, "go", model=ScriptedModel(SCRIPT))
        assert result.status is agentflow.RunStatus.SUCCEEDED and result.output == "survived"
        events = await runner.storage.events(result.run_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert [e.kind for e in events].count("tool_called") == 1 and events[-1].kind == "run_finished"
        record = await runner.storage.get_run(result.run_id)
        assert record.status is agentflow.RunStatus.SUCCEEDED and record.usage["tool_calls"] == 1


async def test_a_server_restart_mid_run_is_retried(cluster: Cluster) -> None:
    """The server restarts while a tool runs: the run's next writes are retried until it is back, and the run
    finishes with a complete, gap-free trace and the tool run once."""
    await _run_and_check(cluster.url, graph_with(lambda: cluster.script("restart")))


async def test_dropped_connections_are_retried(pg_url: str) -> None:
    """Every connection of the run's database is terminated mid-run (as a proxy or an admin might): the run
    finishes as if nothing happened."""

    def drop() -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            dropped = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchone()
            assert dropped and dropped[0] >= 1

    await _run_and_check(pg_url, graph_with(drop))


async def test_an_exhausted_pool_is_a_typed_error(pg_url: str) -> None:
    """With every pooled connection held past the pool's timeout, a read fails with DatabaseUnavailableError
    naming the pool, not a driver exception; it works again once a connection is free."""
    async with open_storage(pg_url, pool_size=1, pool_timeout=0.2) as storage:
        async with storage.db.connection():
            with pytest.raises(DatabaseUnavailableError, match="pooled connections stayed busy"):
                await storage.list_runs()
        assert await storage.list_runs() == []


async def test_a_server_down_past_the_retry_window_is_a_typed_error(cluster: Cluster) -> None:
    """A server that stays down longer than `retry_s`: DatabaseUnavailableError (after retrying); once it is
    back, the same storage works again. Opening a storage on a server that is down says what to check."""
    async with open_storage(cluster.url, retry_s=1) as storage:
        assert cluster.script("halt").returncode == 0
        with pytest.raises(DatabaseUnavailableError, match=r"is the server running|retries"):
            await storage.list_runs()
        assert cluster.script("start").returncode == 0
        with anyio.fail_after(60):
            assert await storage.list_runs() == []
    cluster.script("halt")
    with pytest.raises(DatabaseUnavailableError, match="is the server running"):
        async with open_storage(cluster.url, retry_s=1):
            pass
