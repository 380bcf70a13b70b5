"""The SQLite run database: runs, traces, schema versioning."""

from agentflow.store.db import SCHEMA_VERSION, default_db_path, resolve_db_path
from agentflow.store.runs import RunRecord, RunStore, TraceEvent

__all__ = ["SCHEMA_VERSION", "RunRecord", "RunStore", "TraceEvent", "default_db_path", "resolve_db_path"]
