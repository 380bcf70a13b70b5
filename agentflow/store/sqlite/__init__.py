"""The SQLite backend of the storage protocol: the file format (`schema.py`), the group-commit writer
(`writer.py`), runs / trace / journal / leases / retention (`storage.py`), LangGraph checkpoints
(`checkpointer.py`) and the document store (`documents.py`)."""

from agentflow.store.sqlite.schema import APPLICATION_ID, SCHEMA_VERSION
from agentflow.store.sqlite.storage import SqliteStorage

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SqliteStorage"]
