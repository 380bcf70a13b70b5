"""`RunContext`: what a tool may ask for by annotating a parameter with this type."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog

__all__ = ["RunContext", "current_call_id", "in_call", "leave_call"]

_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar("agentflow_call", default=None)


def current_call_id() -> str | None:
    """The id of the tool call the caller runs inside (None outside one): what a tool's transport needs to
    tie a server's request (an MCP elicitation) to the call."""
    return _CALL.get()


def in_call(call_id: str) -> contextvars.Token[str | None]:
    return _CALL.set(call_id)


def leave_call(token: contextvars.Token[str | None]) -> None:
    _CALL.reset(token)


@dataclass(slots=True, kw_only=True)
class RunContext:
    """Per-call view of the run. Never part of a tool's argument schema; agentflow injects it.

    - `run_id`, `step`, `call_id`: where the call happens (stable across replays);
    - `store`: the run database's document store (LangGraph's `BaseStore`: namespaced items with full-text
      search) for tools that keep data across runs (the notes tool does); None outside a run with storage;
    - `context`: the values given to the run (`agentflow run --context KEY=VALUE`), e.g. a user id;
    - `logger`: a structlog logger bound to run, step and call;
    - `cancelled`: set when the run is being cancelled; long sync tools should poll `is_cancelled()`;
    - `request`: the latest user message (quoted arguments are checked against it); None outside a run.
    """

    run_id: str
    step: int = 0
    call_id: str = ""
    store: Any = None
    context: Mapping[str, Any] = field(default_factory=dict)
    cancelled: anyio.Event | None = None
    base_logger: Any = None
    request: str | None = None
    _logger: Any = None

    @property
    def logger(self) -> Any:
        """A structlog logger bound to run, step and call (built on first use)."""
        if self._logger is None:
            base = self.base_logger or structlog.get_logger("agentflow.tool")
            self._logger = base.bind(run_id=self.run_id, step=self.step, call_id=self.call_id)
        return self._logger

    def is_cancelled(self) -> bool:
        return self.cancelled is not None and self.cancelled.is_set()
