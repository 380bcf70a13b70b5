"""Checking a model's output text as a decision: strict JSON, each tool call's arguments against that tool's
own schema (its declared draft, formats checked; quoted arguments against the request), the final answer
against the final schema, the decision schema. Every backend that does not decode under agentflow's grammar relies on it, and those that do use it
as the last line of defence. A failure is an `OutputError` (message, JSON Schema keyword, JSON path); the
retry turn a model sees is `retry_message`; a model that never gets it right ends the step with
`agentflow.exceptions.InvalidModelOutputError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from agentflow.decoding.quotes import bind_quotes, validator_for_quotes
from agentflow.exceptions import ModelError
from agentflow.formats import format_checker
from agentflow.models.base import ToolSpec
from agentflow.models.decision_schema import decision_from_data, decision_schema

__all__ = ["DecisionCheck", "OutputError", "check_decision_output", "cut", "retry_message"]

MESSAGE_CHARS = 300  # validation messages shown to the model / in errors are cut to this


@dataclass(frozen=True, slots=True)
class OutputError:
    """Why an output is not a valid decision: a message, the JSON Schema keyword and the JSON path."""

    message: str
    keyword: str
    path: str = "$"

    def __str__(self) -> str:
        return f"{self.message} (keyword '{self.keyword}' at {self.path})"


# ---------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class DecisionCheck:
    """The verdict on one output: `error` is None when it is a valid decision (then `data` is the JSON)."""

    data: Any = None
    error: OutputError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def cut(text: str, limit: int = MESSAGE_CHARS) -> str:
    """`text` on one line, at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_error(instance: Any, schema: Any, base_path: str = "$") -> OutputError | None:
    """The most relevant error of `instance` against `schema` (its declared draft, formats checked)."""
    cls = (
        validators.validator_for(schema, default=Draft202012Validator)
        if isinstance(schema, dict)
        else Draft202012Validator
    )
    validator = validator_for_quotes(cls)(schema, format_checker=format_checker(cls))
    error: ValidationError | None = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    path = base_path + error.json_path[1:]
    return OutputError(cut(error.message), str(error.validator), path)


def check_decision_output(
    text: str,
    tools: Sequence[ToolSpec],
    final_schema: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
    *,
    refusal: str | None = None,
    quote_source: str | None = None,
) -> DecisionCheck:
    """Is `text` a valid decision over `tools`? Strict JSON (no duplicate keys, NaN, U+FFFD), then each tool
    call's arguments against that tool's schema (quoted arguments: spans of `quote_source`), the final answer
    against `final_schema`, and the whole decision schema (`schema`, built when not given; a refusal is valid
    only with `refusal`). The first problem found is returned with its keyword and JSON path, in the order most
    useful to a model fixing its output."""
    from agentflow.decoding.validate import check_output

    verdict = check_output(text, {})  # strict JSON only
    if not verdict.ok:
        return DecisionCheck(error=OutputError(cut(verdict.error), "json", "$"))
    data = verdict.value
    if not isinstance(data, dict):
        return DecisionCheck(
            data, OutputError(f"a decision is a JSON object, got {type(data).__name__}", "type")
        )
    by_name = {tool.name: tool for tool in tools}
    calls = data.get("tool_calls")
    if isinstance(calls, list):
        for i, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            name = call.get("name")
            if isinstance(name, str) and name not in by_name:
                known = ", ".join(by_name) or "none"
                return DecisionCheck(
                    data,
                    OutputError(
                        f"unknown tool {name!r} (tools: {known})", "const", f"$.tool_calls[{i}].name"
                    ),
                )
            tool = by_name.get(name) if isinstance(name, str) else None
            if tool is not None and "arguments" in call:
                error = _schema_error(
                    call["arguments"],
                    bind_quotes(tool.parameters, quote_source),
                    f"$.tool_calls[{i}].arguments",
                )
                if error is not None:
                    return DecisionCheck(data, error)
    if final_schema is not None and "final_answer" in data:
        error = _schema_error(data["final_answer"], final_schema, "$.final_answer")
        if error is not None:
            return DecisionCheck(data, error)
    if schema is None:
        schema = decision_schema(tools, final_schema, refusal=refusal, quote_source=quote_source)
    error = _schema_error(data, schema)
    if error is not None:
        return DecisionCheck(data, error)
    try:
        decision_from_data(data, 0, refusal)
    except ModelError as exc:
        return DecisionCheck(data, OutputError(cut(str(exc)), "decision"))
    return DecisionCheck(data)


def retry_message(error: OutputError) -> str:
    """The user turn that shows the model why its last output was refused."""
    return (
        f"Your reply is not a valid decision: {error.message} (JSON Schema keyword '{error.keyword}' at "
        f"{error.path}). Reply again with one corrected JSON object only."
    )
