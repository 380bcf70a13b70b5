"""A run's checkpoint history, and forking a new run from any checkpoint with edited state.

Checkpoints are numbered from 0 (the run's input) in the order LangGraph wrote them; each names the step
(LangGraph's superstep), the node that produced it (`after`) and the node(s) due next. A fork copies
checkpoint N's state into a new run's thread, applies the edits, and runs on from there; the fork is
linked to its parent (`parent_id`, `forked_from = "RUN@N"`).

Edits are a JSON object: a top-level key replaces that state key; a key starting with `/` is a JSON Pointer
into the state (`{"/messages/3/content": "42"}` changes one observation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from agentflow.exceptions import UserError

__all__ = ["Checkpoint", "apply_edits", "history"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    number: int
    step: int
    after: str | None
    next: tuple[str, ...]
    created_at: str
    checkpoint_id: str
    values: dict[str, Any]

    def as_dict(self, *, with_values: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "step": self.step,
            "after": self.after,
            "next": list(self.next),
            "created_at": self.created_at,
            "checkpoint_id": self.checkpoint_id,
        }
        if with_values:
            out["values"] = self.values
        return out


async def history(compiled: Any, run_id: str) -> list[Checkpoint]:
    """All checkpoints of a run's thread, oldest first."""
    snapshots = [s async for s in compiled.aget_state_history({"configurable": {"thread_id": run_id}})]
    snapshots.reverse()
    out: list[Checkpoint] = []
    previous_next: tuple[str, ...] = ()
    for number, snap in enumerate(snapshots):
        out.append(
            Checkpoint(
                number=number,
                step=int(snap.metadata.get("step", number - 1)),
                after=previous_next[0] if previous_next else None,
                next=tuple(snap.next),
                created_at=snap.created_at or "",
                checkpoint_id=snap.config["configurable"]["checkpoint_id"],
                values=dict(snap.values or {}),
            )
        )
        previous_next = tuple(snap.next)
    return out


def _pointer_set(state: dict[str, Any], pointer: str, value: Any) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    target: Any = state
    for index, part in enumerate(parts[:-1]):
        try:
            target = target[int(part)] if isinstance(target, list) else target[part]
        except (KeyError, IndexError, ValueError):
            raise UserError(
                f"--set: {pointer} does not exist in the checkpoint's state "
                f"(no '{part}' at /{'/'.join(parts[:index])})"
            ) from None
    last = parts[-1]
    if isinstance(target, list):
        try:
            target[int(last)] = value
        except (IndexError, ValueError):
            raise UserError(f"--set: {pointer}: no list index '{last}'") from None
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise UserError(f"--set: {pointer}: cannot set a key inside a {type(target).__name__}")


def apply_edits(values: dict[str, Any], edits: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of `values` with `edits` applied (see the module docstring)."""
    state = copy.deepcopy(values)
    if not edits:
        return state
    if not isinstance(edits, dict):
        raise UserError("--set must be a JSON object")
    for key, value in edits.items():
        if key.startswith("/"):
            _pointer_set(state, key, value)
        else:
            state[key] = value
    return state
