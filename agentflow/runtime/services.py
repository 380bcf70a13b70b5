"""`RunServices`: the per-run objects agentflow's nodes use, passed to LangGraph as the run's context.

Nodes reach them with `services()`. Outside an agentflow runner (a user invoking a compiled graph directly)
they get fresh defaults: no trace, no shared budget, the model the node was built with.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog

from agentflow.budget import BudgetTracker
from agentflow.events import Event, enter_scope, leave_scope
from agentflow.exceptions import ConfigError
from agentflow.models.base import Model, SamplingSettings
from agentflow.redaction import Redactor
from agentflow.runtime.journal import ToolJournal
from agentflow.runtime.run_writer import RunWriter

__all__ = ["RunServices", "agent_label", "agent_scope", "current_task", "services"]

_AGENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("agentflow_agent", default=None)


@dataclass(slots=True, kw_only=True)
class RunServices:
    """The per-run objects agentflow's nodes use: budget, trace, journal, models, settings, the document store
    (`store`, LangGraph's `BaseStore`), the values given to the run (`context`), cancellation."""

    run_id: str = "adhoc"
    tracker: BudgetTracker = field(default_factory=BudgetTracker)
    writer: RunWriter | None = None
    journal: ToolJournal = field(default_factory=ToolJournal)
    on_event: Callable[[Event], Any] | None = None
    model: Model | None = None
    models: Mapping[str, Model] = field(default_factory=dict)
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    store: Any = None
    context: Mapping[str, Any] = field(default_factory=dict)
    toolset: Any = None  # the run's connected tool sources (`agentflow.runtime.sources.RunToolset`)
    cancelled: anyio.Event = field(default_factory=anyio.Event)
    logger: Any = field(default_factory=lambda: structlog.get_logger("agentflow"))
    sent_messages: dict[str, list[Any]] = field(default_factory=dict)  # per agent: messages of its last call
    offers: set[str] = field(default_factory=set)  # digests of the `ModelOffer`s traced by this process
    replay: Any = None  # a replay's player: recorded tool outcomes instead of executions (agentflow.replay)
    redactor: Redactor = field(default_factory=Redactor)  # the run's sensitive values (agentflow.redaction)
    windows: dict[str, Any] = field(default_factory=dict)  # per agent: its context policy's current cut

    def model_for(self, role: str, default: Model | None = None) -> Model:
        """The model for `role`: a per-role override, else the node's own, else the run's default, else the
        bundled demo model."""
        model = self.models.get(role) or default or self.model
        if model is None:  # nothing given anywhere: the bundled demo model
            from agentflow.models.spec import load_model

            model = self.model = load_model("demo")
        return model

    async def record(self, event: Event, *, durable: bool = False) -> None:
        """Trace `event` (with the usage so far) and tell listeners, scrubbed of the run's sensitive values.
        `durable=True` returns only once the event is on disk; otherwise it is committed with the next write
        that is waited for."""
        event = self.redactor.event(event)
        if self.writer is not None:
            self.writer.record([event])
            if durable:
                await self.writer.flush()
        await self.notify(event)

    def source_tools(self, sources: Sequence[Any]) -> list[Any]:
        """The tools `sources` offer in this run (they are connected when the run starts)."""
        if not sources:
            return []
        if self.toolset is None:
            names = ", ".join(s.name for s in sources)
            raise ConfigError(
                f"this graph uses tool sources ({names}) that only a run connects: run it through "
                "agentflow (Runner.run / agentflow run), not by invoking the compiled graph"
            )
        return self.toolset.tools_of(sources)

    def usage(self) -> dict[str, Any]:
        """The run's usage now, wall time included (what every write records)."""
        self.tracker.sync_wall()
        return self.tracker.usage.as_dict()

    async def notify(self, event: Event) -> None:
        """Tell listeners only (the event was traced some other way)."""
        event = self.redactor.event(event)
        if self.on_event is not None:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                await result


def services() -> RunServices:
    """The current run's services (inside a node), or fresh defaults outside an agentflow run."""
    try:
        from langgraph.config import get_config
        from langgraph.runtime import get_runtime

        get_config()
        context = get_runtime().context
    except (RuntimeError, LookupError):
        context = None
    if isinstance(context, RunServices):
        return context
    # Not run by agentflow: no budgets or trace (LangGraph's recursion_limit still bounds loops).
    return RunServices()


def current_task() -> str:
    """The LangGraph task executing now (its checkpoint namespace): stable when LangGraph re-runs the node
    from the same checkpoint, after a pause or a crash."""
    try:
        from langgraph.config import get_config

        return str(get_config()["configurable"].get("checkpoint_ns") or "")
    except (RuntimeError, LookupError):
        return ""


@contextmanager
def agent_scope(label: str, scope: str = "") -> Iterator[None]:
    """Name the agent for everything run inside (a sub-agent of a plan step: `executor:s2`): trace events
    and the live view show who did what, and with `scope` (a sub-agent invocation's id) events carry it as
    their `parent_id`. Parallel branches are separate tasks, so each keeps its own name and scope."""
    token = _AGENT.set(label)
    scoped = enter_scope(scope) if scope else None
    try:
        yield
    finally:
        if scoped is not None:
            leave_scope(scoped)
        _AGENT.reset(token)


def agent_label(role: str) -> str:
    """The agent name for a node of `role`: the enclosing `agent_scope`, else the role itself."""
    return _AGENT.get() or role
