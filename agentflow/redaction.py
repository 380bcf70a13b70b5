"""Sensitive values: marked by tools, kept out of everything agentflow records.

A tool marks an argument or its result sensitive with `Annotated[str, Sensitive]` (on the parameter, or on the
return type), or `@tool(sensitive=("password", "return"))`. When a run meets such a value — in a model's
decision, in a tool's arguments or result — the run's `Redactor` learns it, and from then on every record of
the run is scrubbed before it is written: trace events (and what live listeners and OpenTelemetry see), the
tool journal, the run record (output, partial result, pending calls) and checkpoints (agentflow's savers ask
`scrub_for`). The value reads `REDACTED` there; the model still sees it during the execution that produced
it. After a pause or a crash the value is gone: a call that needs it gets an error observation saying so.

Strings of 4 characters or more are also replaced inside longer texts (a model's raw output, a message that
quotes them); shorter ones only where they stand alone. A sensitive number is redacted in the arguments and
results of the calls that carry it (`redact_fields`), and inside texts when its digits are 6 or more; other
numbers in a record are left alone, as are the structural fields of records and messages (times, steps, ids,
roles, names), so a redaction never breaks a run's state or trace.
"""

from __future__ import annotations

import copy as copy_module
import dataclasses
import json
import threading
from collections.abc import Iterable
from typing import Any

__all__ = [
    "REDACTED",
    "RESULT",
    "Redactor",
    "Sensitive",
    "redact_fields",
    "redactor_for",
    "release",
    "scrub_checkpoint",
    "scrub_for",
]

REDACTED = "[redacted]"
RESULT = "return"  # the name `sensitive=` uses for a tool's result
_MIN_SUBSTRING = 4
_MIN_DIGITS = 6
#: keys whose values are structure, never content: left as they are wherever they appear
_STRUCTURAL = frozenset(
    {
        "ts", "step", "steps", "seq", "role", "run_id", "call_id", "tool_call_id", "decision_id", "task",
        "parent_id", "scope", "kind", "digest", "offer", "interrupt_id", "attempts", "latency_s", "duration_s",
        "input_tokens", "output_tokens", "cost_usd", "messages_from", "unknown_outcome", "by_human", "is_error",
    }
)  # fmt: skip


class _SensitiveMarker:
    """`Annotated[T, Sensitive]`: this argument (or, on the return type, the result) is never recorded."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Sensitive"


Sensitive = _SensitiveMarker()


class Redactor:
    """The sensitive values one run has met, and `scrub` to take them out of anything about to be recorded."""

    def __init__(self) -> None:
        self._texts: set[str] = set()  # replaced wherever they occur (long enough)
        self._exact: set[str] = set()  # strings replaced where a value equals them
        self._numbers: set[Any] = set()  # numbers: replaced in the fields that carry them (`redact_fields`)
        self._ordered: list[str] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._exact or self._texts or self._numbers)

    def add(self, value: Any) -> None:
        """Learn `value` (a string, number, or a JSON structure whose leaves are all sensitive)."""
        for leaf in _leaves(value):
            with self._lock:
                if isinstance(leaf, str):
                    self._exact.add(leaf)
                    forms = {leaf, json.dumps(leaf, ensure_ascii=False)[1:-1], json.dumps(leaf)[1:-1]}
                    minimum = _MIN_SUBSTRING
                else:
                    self._numbers.add(leaf)
                    forms = {json.dumps(leaf)}
                    minimum = _MIN_DIGITS
                self._texts.update(f for f in forms if len(f) >= minimum)
                self._ordered = sorted(self._texts, key=len, reverse=True)

    @property
    def numbers(self) -> frozenset[Any]:
        return frozenset(self._numbers)

    def scrub(self, value: Any) -> Any:
        """`value` with every sensitive value replaced by `REDACTED` (the same object when nothing changes)."""
        if not (self._exact or self._texts):
            return value
        return self._scrub(value)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in self._exact:
                return REDACTED
            text = value
            for form in self._ordered:
                if form in text:
                    text = text.replace(form, REDACTED)
            return text
        if isinstance(value, dict):
            out = {k: v if k in _STRUCTURAL else self._scrub(v) for k, v in value.items()}
            return value if all(out[k] is value[k] for k in value) else out
        if isinstance(value, list | tuple):
            items = [self._scrub(v) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, set | frozenset):
            scrubbed = {self._scrub(v) for v in value}
            return value if scrubbed == value else type(value)(scrubbed)
        return self._scrub_object(value)

    def _scrub_object(self, value: Any) -> Any:
        """Objects graph state may hold: LangGraph's `Send` (a branch's input), dataclasses (`Interrupt`),
        pydantic models. Anything else is left as it is."""
        arg = getattr(value, "arg", None)
        if type(value).__name__ == "Send" and arg is not None:
            scrubbed = self._scrub(arg)
            return value if scrubbed is arg else type(value)(value.node, scrubbed)
        if hasattr(value, "model_dump") and hasattr(value, "model_copy"):  # a pydantic model
            data = value.model_dump()
            scrubbed = self._scrub(data)
            return value if scrubbed is data else type(value).model_validate(scrubbed)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changed = {}
            for f in dataclasses.fields(value):
                if f.name in _STRUCTURAL:
                    continue
                old = getattr(value, f.name, None)
                new = self._scrub(old)
                if new is not old:
                    changed[f.name] = new
            if not changed:
                return value
            try:
                return dataclasses.replace(value, **changed)
            except (TypeError, ValueError):  # a field that cannot be set through the constructor
                copy = copy_module.copy(value)
                for name, new in changed.items():
                    object.__setattr__(copy, name, new)
                return copy
        return value

    def event(self, event: Any) -> Any:
        """A trace event with its data scrubbed (the same event when nothing sensitive is in it)."""
        if not (self._exact or self._texts):
            return event
        data = event.data()
        scrubbed = self._scrub(data)
        if scrubbed is data:
            return event
        return type(event)(run_id=event.run_id, **scrubbed)


def redact_fields(arguments: dict[str, Any], sensitive: Iterable[str]) -> dict[str, Any]:
    """A call's arguments with those named `sensitive` replaced by `REDACTED`, whatever their type."""
    names = set(sensitive)
    if not names & set(arguments):
        return arguments
    return {k: REDACTED if k in names and v is not None else v for k, v in arguments.items()}


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, str | int | float):
        if value != "" and value != REDACTED:
            yield value


_registry: dict[str, Redactor] = {}
_registry_lock = threading.Lock()


def redactor_for(run_id: str) -> Redactor:
    """The redactor of run `run_id` in this process (made on first use)."""
    with _registry_lock:
        found = _registry.get(run_id)
        if found is None:
            found = _registry[run_id] = Redactor()
        return found


def release(run_id: str) -> None:
    """Forget run `run_id`'s sensitive values (its execution here ended)."""
    with _registry_lock:
        _registry.pop(run_id, None)


def scrub_for(run_id: str, value: Any) -> Any:
    """`value` scrubbed of run `run_id`'s sensitive values (for checkpoint savers: thread id = run id)."""
    redactor = _registry.get(run_id)
    return value if redactor is None else redactor.scrub(value)


def scrub_checkpoint(run_id: str, checkpoint: Any) -> Any:
    """A LangGraph checkpoint whose channel values are scrubbed of run `run_id`'s sensitive values (the same
    object when there is nothing to scrub)."""
    values = checkpoint.get("channel_values")
    scrubbed = scrub_for(run_id, values)
    return checkpoint if scrubbed is values else {**checkpoint, "channel_values": scrubbed}
