"""`RunContext`: what a tool may ask for by annotating a parameter with this type."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import structlog

__all__ = ["RunContext"]


@dataclass(slots=True, kw_only=True)
class RunContext:
    """Per-call view of the run. Never part of a tool's argument schema; agentflow injects it.

    - `run_id`, `step`, `call_id`: where the call happens (stable across replays);
    - `db_path`: the run database, for tools that keep data (the notes tool does);
    - `stores`: named stores the runner was given (memory stores plug in here);
    - `logger`: a structlog logger bound to run, step and call;
    - `cancelled`: set when the run is being cancelled; long sync tools should poll `is_cancelled()`.
    """

    run_id: str
    step: int = 0
    call_id: str = ""
    db_path: Path | None = None
    stores: dict[str, Any] = field(default_factory=dict)
    cancelled: anyio.Event | None = None
    base_logger: Any = None
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
