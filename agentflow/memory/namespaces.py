"""Namespace templates: `("user", "{user_id}")` filled from the values given to a run (`--context
user_id=alice`, `RunContext.context`), never from model output.

A filled value is escaped so it is always one label: "%" becomes "%25" and "." (which separates labels in
the stores) "%2E" — `alice@example.com` is the label `alice@example%2Ecom`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from agentflow.exceptions import ConfigError

__all__ = ["escape_label", "fill_namespace", "template_fields"]


def escape_label(value: str) -> str:
    return value.replace("%", "%25").replace(".", "%2E")


def template_fields(template: Sequence[str]) -> list[str]:
    """The context keys a template needs; `ConfigError` for a malformed one (bad braces, `{}`, `{a.b}`)."""
    if isinstance(template, str) or not template:
        raise ConfigError(f"a namespace template is a non-empty tuple of labels (got {template!r})")
    fields: list[str] = []
    for label in template:
        if not isinstance(label, str) or not label:
            raise ConfigError(f"namespace template {tuple(template)!r}: labels are non-empty strings")
        try:
            parsed = list(string.Formatter().parse(label))
        except ValueError as exc:
            raise ConfigError(f"namespace template label {label!r}: {exc}") from None
        for literal, name, spec, conversion in parsed:
            if "." in literal:
                raise ConfigError(f"namespace template label {label!r}: labels may not contain '.'")
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise ConfigError(
                    f"namespace template label {label!r}: a placeholder is a plain name like {{user_id}}"
                )
            fields.append(name)
    return fields


def fill_namespace(template: Sequence[str], context: Mapping[str, Any]) -> tuple[str, ...]:
    """The namespace `template` names for these run context values. `ConfigError` names a missing value
    and how to give it."""
    fields = template_fields(template)
    missing = [f for f in dict.fromkeys(fields) if context.get(f) in (None, "")]
    if missing:
        options = " ".join(f"--context {name}=..." for name in missing)
        raise ConfigError(
            f"the memory namespace {tuple(template)!r} needs the run context value"
            f"{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}; give it to the run "
            f"(agentflow run ... {options}, or Runner.run(..., context={{...}}))"
        )
    values = {name: escape_label(str(context[name])) for name in fields}
    return tuple(label.format_map(values) for label in template)
