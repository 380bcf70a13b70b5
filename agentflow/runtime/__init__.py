"""What a run carries while it executes: `RunServices` (the per-run objects nodes reach through LangGraph's
runtime context: budget, trace sink, journal, models, settings) and the `ToolJournal` (no call runs twice)."""

from agentflow.runtime.journal import ToolJournal
from agentflow.runtime.services import RunServices, agent_label, agent_scope, current_task, services

__all__ = ["RunServices", "ToolJournal", "agent_label", "agent_scope", "current_task", "services"]
