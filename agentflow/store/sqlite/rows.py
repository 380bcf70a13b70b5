"""Rows of a run database (SQLite, and PostgreSQL, which keeps the same columns) as agentflow's records: light
to import, for read-only views too."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentflow.approval import PendingCall
from agentflow.status import RunStatus
from agentflow.store.base import RunRecord

__all__ = ["loads", "record_from_row"]


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def record_from_row(row: Mapping[str, Any]) -> RunRecord:
    pending = loads(row.get("pending"))
    return RunRecord(
        id=row["id"],
        graph=row["graph"],
        input=loads(row["input"]),
        status=RunStatus(row["status"]),
        output=loads(row["output"]),
        partial=loads(row["partial"]),
        usage=loads(row["usage"]) or {},
        cost_usd=row["cost_usd"] or 0.0,
        budget=loads(row["budget"]) or {},
        budget_exhausted=row["budget_exhausted"],
        error=loads(row["error"]),
        model=row["model"],
        settings=loads(row["settings"]) or {},
        seed=row["seed"],
        parent_id=row["parent_id"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        wall_s=row["wall_s"] or 0.0,
        owner=row.get("owner"),
        pending=None if pending is None else [PendingCall.from_json(c) for c in pending],
        forked_from=row.get("forked_from"),
        lease_token=row.get("lease_token") or 0,
        lease_expires=row.get("lease_expires"),
        context=loads(row.get("context")) or {},
        thread_id=row.get("thread_id"),
        cancel_requested=bool(row.get("cancel_requested")),
    )
