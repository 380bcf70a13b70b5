"""The PostgreSQL backend of the storage protocol (the `postgres` extra: psycopg 3 and its pool): the layout and
its migrations (`schema.py`), the pool and its retry rules (`connection.py`), group commit (`writer.py`), runs
/ trace / journal / leases / queue / retention (`storage.py`), LangGraph checkpoints (`checkpointer.py`) and
the document store with full-text search (`documents.py`)."""

from agentflow.store.postgres.schema import SCHEMA_VERSION
from agentflow.store.postgres.storage import PostgresStorage

__all__ = ["SCHEMA_VERSION", "PostgresStorage"]
