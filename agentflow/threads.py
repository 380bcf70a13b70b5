"""Threads: a run that continues the conversation of the thread's previous run, and what a second input does
while the thread is busy ("double-texting").

A thread is a name shared by runs (`Runner.run(..., thread="t1")`, `agentflow run --thread t1`). A new run of a
thread starts from the messages the run it *continues* ended with (its final state's `messages`, a trailing
unanswered tool call dropped), plus its own input as a user turn: graphs whose state keeps `messages` (the ReAct
graph and graphs built from `ModelNode`) carry the conversation on; other graphs just get their input.

While a run of the thread is in progress (queued, running or waiting for approval), the new input's policy
(`on_busy`) decides, atomically in the database (two inputs racing on one thread are decided one after the
other):

- `reject` (default): refused with `ThreadBusyError` naming the run in progress; nothing is recorded.
- `enqueue`: the new run waits for the runs before it, then continues from the last of them.
- `interrupt`: the runs in progress are cancelled (they stop at their next step; their work so far is kept)
  and the new run continues from where the last of them stopped.
- `rollback`: the runs in progress are cancelled and the new run continues from the run *they* continued
  from, as if they had never been sent.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

from agentflow.exceptions import ConfigError, ThreadBusyError
from agentflow.store.base import ACTIVE, NewRun, RunRecord, ThreadCheck

__all__ = ["OnBusy", "check_policy", "continues_from", "thread_check", "thread_messages"]

OnBusy = Literal["reject", "enqueue", "interrupt", "rollback"]


def check_policy(policy: str) -> OnBusy:
    if policy not in get_args(OnBusy):
        raise ConfigError(f"unknown double-texting policy {policy!r} (reject, enqueue, interrupt, rollback)")
    return policy  # type: ignore[return-value]


def continues_from(record: RunRecord | NewRun) -> str | None:
    """The run whose conversation this run continues (None: a thread's first run, or no thread)."""
    thread = record.settings.get("thread") or {}
    value = thread.get("continues")
    return str(value) if value else None


def thread_check(new: NewRun, policy: OnBusy, *, wait: bool) -> ThreadCheck:
    """The check `new` (a run of thread `new.thread_id`) passes in the database, with the thread locked: it
    returns the run to insert, recording what it continues from and which runs in progress it stops.
    `wait=False`: the caller wants to run it at once, so a busy thread refuses (`ThreadBusyError`) whatever the
    policy (the caller then enqueues it with `wait=True`)."""

    def decide(runs: list[RunRecord]) -> NewRun:
        active = [r for r in runs if r.status in ACTIVE]
        if active and (policy == "reject" or not wait):
            raise ThreadBusyError(
                f"thread {new.thread_id} is busy: run {active[0].id} is {active[0].status} (on_busy={policy}; "
                "enqueue, interrupt or rollback send it anyway)",
                thread_id=new.thread_id or "",
                active=active[0].id,
            )
        continues = runs[-1].id if runs else None
        if active and policy == "rollback":
            continues = continues_from(active[0])
        stops = [r.id for r in active] if policy in ("interrupt", "rollback") else []
        thread = {"id": new.thread_id, "continues": continues, "on_busy": policy, "stops": stops}
        return dataclasses.replace(new, settings={**new.settings, "thread": thread})

    return decide


def thread_messages(values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The conversation a run ended with (its final state's `messages`), without a trailing tool call nobody
    answered (a run stopped while deciding or calling tools)."""
    messages = list((values or {}).get("messages") or [])
    while messages and messages[-1].get("role") == "assistant" and messages[-1].get("tool_calls"):
        messages.pop()
    return messages
