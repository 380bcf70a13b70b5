"""The PostgreSQL run database's layout: agentflow's own schema (namespace), its tables and their migrations.

Everything agentflow keeps lives in one PostgreSQL schema (default `agentflow`), so a database shared with other
applications is never touched outside it. The schema's `meta` table records the layout version; migrations run
in one transaction under an advisory lock (several processes starting at once migrate once). A schema of that
name that agentflow did not create (tables, no `meta`), or one written by a newer agentflow, is refused with a
`StoreError` before anything is written.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from agentflow.exceptions import StoreError

__all__ = ["SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY, graph TEXT NOT NULL, input TEXT, status TEXT NOT NULL, output TEXT,
            partial TEXT, usage TEXT, cost_usd DOUBLE PRECISION DEFAULT 0, budget TEXT, budget_exhausted TEXT,
            error TEXT, model TEXT, settings TEXT, seed BIGINT, parent_id TEXT,
            created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, wall_s DOUBLE PRECISION DEFAULT 0,
            owner TEXT, pending TEXT, forked_from TEXT,
            lease_token BIGINT NOT NULL DEFAULT 0, lease_expires DOUBLE PRECISION, context TEXT,
            thread_id TEXT, cancel_requested BOOLEAN NOT NULL DEFAULT FALSE, queued BOOLEAN NOT NULL DEFAULT FALSE)""",
        "CREATE INDEX runs_created ON runs (created_at)",
        "CREATE INDEX runs_status ON runs (status, created_at)",
        "CREATE INDEX runs_thread ON runs (thread_id, created_at) WHERE thread_id IS NOT NULL",
        # what workers look at: queued runs, and running runs whose lease may have expired
        "CREATE INDEX runs_claimable ON runs (created_at) WHERE status IN ('queued', 'running')",
        """CREATE TABLE events (
            run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, step INTEGER, agent TEXT,
            ts TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq))""",
        """CREATE TABLE tool_journal (
            run_id TEXT NOT NULL, task TEXT NOT NULL, call_id TEXT NOT NULL, tool TEXT NOT NULL,
            arguments TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT, started_at TEXT NOT NULL,
            finished_at TEXT, PRIMARY KEY (run_id, task, call_id))""",
        """CREATE TABLE checkpoints (
            thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
            parent_checkpoint_id TEXT, type TEXT, checkpoint BYTEA, metadata JSONB NOT NULL DEFAULT '{}',
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id))""",
        """CREATE TABLE writes (
            thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
            task_id TEXT NOT NULL, task_path TEXT NOT NULL DEFAULT '', idx INTEGER NOT NULL,
            channel TEXT NOT NULL, type TEXT, value BYTEA,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))""",
        # the document store (LangGraph's BaseStore): JSON items, their text in a full-text index
        """CREATE TABLE store_items (
            namespace TEXT NOT NULL, key TEXT NOT NULL, value JSONB NOT NULL, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, expires_at DOUBLE PRECISION, text TSVECTOR,
            PRIMARY KEY (namespace, key))""",
        "CREATE INDEX store_items_text ON store_items USING GIN (text)",
        "CREATE INDEX store_items_expires ON store_items (expires_at) WHERE expires_at IS NOT NULL",
    ],
}


async def migrate(conn: Any, schema: str, where: str) -> None:
    """Create or upgrade agentflow's schema on `conn` (autocommit), in one transaction under an advisory lock."""
    ident = sql.Identifier(schema)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"agentflow-migrate:{schema}",))
        cursor = await conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'p')",
            (schema,),
        )
        tables = {r[0] for r in await cursor.fetchall()}
        version = 0
        if tables and "meta" not in tables:
            listed = ", ".join(sorted(tables)[:5])
            raise StoreError(
                f"{where}: schema '{schema}' exists and is not agentflow's (no agentflow marker; its tables: "
                f"{listed}); pass another schema (schema=...) or database"
            )
        if "meta" in tables:
            cursor = await conn.execute(
                sql.SQL("SELECT value FROM {}.meta WHERE key = 'schema_version'").format(ident)
            )
            row = await cursor.fetchone()
            version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{where} was written by a newer agentflow (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade agentflow"
            )
        if version == SCHEMA_VERSION:
            return
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        await conn.execute(sql.SQL("SET LOCAL search_path = {}").format(ident))
        await conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target]:
                await conn.execute(statement)
        await conn.execute(
            "INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE SET value = "
            "excluded.value",
            (str(SCHEMA_VERSION),),
        )
