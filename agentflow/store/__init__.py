"""Everything a run persists, behind one protocol (`base.Storage`), with SQLite as the embedded default.

    async with open_storage("runs.db") as storage: ...     # a path, sqlite:///path, or $AGENTFLOW_DB
    async with open_storage("postgresql://user@host/db") as storage: ...   # the `postgres` extra

`RunStore` is a small synchronous, read-only view of a SQLite run database (for scripts and tests).
"""

from __future__ import annotations

import os
from typing import Any

from agentflow.store.base import Lease, NewRun, PruneReport, RunRecord, Storage, TraceEvent
from agentflow.store.runs import RunStore
from agentflow.store.url import DatabaseURL, default_db_path, parse_db_url, resolve_db_url

__all__ = [
    "DatabaseURL",
    "Lease",
    "NewRun",
    "PruneReport",
    "RunRecord",
    "RunStore",
    "Storage",
    "TraceEvent",
    "default_db_path",
    "open_storage",
    "parse_db_url",
    "resolve_db_url",
]


def open_storage(db: str | os.PathLike[str] | DatabaseURL | None = None, **options: Any) -> Storage:
    """The storage for `db` (a path or URL; default `$AGENTFLOW_DB`, else the default file), not yet opened:
    use it as `async with open_storage(db) as storage`. `options` go to the backend (e.g. `lease_ttl_s`)."""
    url = db if isinstance(db, DatabaseURL) else resolve_db_url(db)
    if url.backend == "sqlite":
        from agentflow.store.sqlite import SqliteStorage

        return SqliteStorage(url, **options)
    try:
        from agentflow.store.postgres import PostgresStorage
    except ImportError as exc:
        from agentflow.exceptions import ConfigError

        raise ConfigError(
            f"{url}: the PostgreSQL backend needs psycopg ({exc.name} is missing): "
            "pip install 'agentflow[postgres]'"
        ) from None
    return PostgresStorage(url, **options)
