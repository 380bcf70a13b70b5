"""`RunWriter`: how an executing run writes — its storage, bound to the lease it holds and to its usage.

Every write carries the lease (so a process that lost the run writes nothing) and the run's usage so far (so
what a budget checks is durable with the step that spent it: a tool call's reservation is on disk in the same
transaction as its `started` mark). Trace events are queued and committed with the next awaited write.
Everything is scrubbed of the run's sensitive values first (`agentflow.redaction`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentflow.events import Event
from agentflow.redaction import redactor_for
from agentflow.store.base import Lease, Storage

__all__ = ["RunWriter"]


@dataclass(slots=True)
class RunWriter:
    storage: Storage
    lease: Lease
    usage: Callable[[], dict[str, Any]]  # the run's usage now (the budget tracker's)

    @property
    def run_id(self) -> str:
        return self.lease.run_id

    def record(self, events: Sequence[Event]) -> None:
        """Queue events; they are committed, in order, with the next awaited write of this process."""
        redactor = redactor_for(self.lease.run_id)
        self.storage.record(self.lease, [redactor.event(e) for e in events], self.usage())

    async def flush(self) -> None:
        """Return once everything queued so far is durable."""
        await self.storage.flush(self.lease)

    async def journal_start(self, task: str, call_id: str, tool: str, arguments: Mapping[str, Any]) -> None:
        arguments = redactor_for(self.lease.run_id).scrub(dict(arguments))
        await self.storage.journal_start(self.lease, task, call_id, tool, arguments, self.usage())

    async def journal_finish(
        self, task: str, call_id: str, outcome: Mapping[str, Any], events: Sequence[Event] = ()
    ) -> None:
        redactor = redactor_for(self.lease.run_id)
        outcome = redactor.scrub(dict(outcome))
        events = [redactor.event(e) for e in events]
        await self.storage.journal_finish(self.lease, task, call_id, outcome, events, self.usage())
