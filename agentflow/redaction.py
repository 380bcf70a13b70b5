"""Sensitive values: marked by tools, kept out of everything agentflow records.

A tool marks an argument or its result sensitive with `Annotated[str, Sensitive]` (on the parameter, or on the
return type), or `@tool(sensitive=("password", "return"))`. When a run meets such a value — in a model's
decision, in a tool's arguments or result — the run's `Redactor` learns it, and from then on every record of
the run is scrubbed before it is written: trace events (and what live listeners and OpenTelemetry see), the
tool journal, the run record (output, partial result, pending calls) and checkpoints (agentflow's savers ask
`scrub_for`). The value reads `REDACTED` there; the model still sees it during the execution that produced
it. After a pause or a crash the value is gone: a call that needs it gets an error observation saying so.

Values of 4 characters or more are also replaced inside longer texts (a model's raw output, a message that
quotes them); shorter ones only where they stand alone (an argument equal to the value).
"""

from __future__ import annotations

import copy as copy_module
import dataclasses
import json
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "RESULT", "Redactor", "Sensitive", "redactor_for", "release", "scrub_for"]

REDACTED = "[redacted]"
RESULT = "return"  # the name `sensitive=` uses for a tool's result
_MIN_SUBSTRING = 4


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
        self._exact: set[Any] = set()  # replaced where a value equals them
        self._ordered: list[str] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._exact)

    def add(self, value: Any) -> None:
        """Learn `value` (a string, number, or a JSON structure whose leaves are all sensitive)."""
        for leaf in _leaves(value):
            with self._lock:
                self._exact.add(leaf)
                forms = {leaf if isinstance(leaf, str) else json.dumps(leaf)}
                if isinstance(leaf, str):
                    forms.add(json.dumps(leaf, ensure_ascii=False)[1:-1])  # as it appears inside JSON text
                    forms.add(json.dumps(leaf)[1:-1])
                for form in forms:
                    if len(form) >= _MIN_SUBSTRING and form not in self._texts:
                        self._texts.add(form)
                self._ordered = sorted(self._texts, key=len, reverse=True)

    def scrub(self, value: Any) -> Any:
        """`value` with every sensitive value replaced by `REDACTED` (the same object when nothing changes)."""
        if not self._exact:
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
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return REDACTED if value in self._exact else value
        if isinstance(value, dict):
            out = {k: self._scrub(v) for k, v in value.items()}
            return value if all(out[k] is value[k] for k in value) else out
        if isinstance(value, list | tuple):
            items = [self._scrub(v) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. LangGraph's `Interrupt`
            changed = {}
            for f in dataclasses.fields(value):
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
        if not self._exact:
            return event
        data = event.data()
        scrubbed = self._scrub(data)
        if scrubbed is data:
            return event
        return type(event)(run_id=event.run_id, **scrubbed)


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
