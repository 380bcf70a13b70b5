"""The JSON schema a model's decision is decoded under, and parsing of decoded text into a `Decision`.

Shape (key order fixed, reasoning first so the model "thinks" before it commits):

    {"reasoning": "...", "tool_calls": [{"name": "<tool>", "arguments": {...}}, ...]}
    {"reasoning": "...", "final_answer": <final schema, a string by default>}
    {"reasoning": "...", "refuse": true}          (only when the graph offers a refusal)

Each tool's argument schema is embedded as-is; its `$defs` are hoisted to the root under a per-tool prefix
so `$ref`s stay resolvable. Quoted arguments (`agentflow.Quoted`) are bound to the request's text
(`quote_source`), so the grammar allows only spans of it there.

A refusal is a decision like any other, but its answer is not generated: the graph's fixed `refusal` text
becomes the final answer, so a model that cannot help says so cleanly instead of improvising a reply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from agentflow.decoding.quotes import bind_quotes
from agentflow.exceptions import ModelError
from agentflow.messages import Decision, ToolCall
from agentflow.models.base import ToolSpec

__all__ = ["DEFAULT_FINAL_SCHEMA", "call_id", "decision_schema", "parse_decision"]

DEFAULT_FINAL_SCHEMA: dict[str, Any] = {"type": "string", "maxLength": 400}


def call_id(step: int, index: int) -> str:
    """Deterministic id of the `index`-th call of step `step` (stable across replays)."""
    return f"call_{step}_{index}"


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                out[key] = _prefixed_ref(value, prefix)
            else:
                out[key] = _rewrite_refs(value, prefix)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix) for v in node]
    return node


def _prefixed_ref(ref: str, prefix: str) -> str:
    for defs in ("#/$defs/", "#/definitions/"):
        if ref.startswith(defs):
            return f"#/$defs/{prefix}{ref[len(defs) :]}"
    if ref == "#":
        return f"#/$defs/{prefix}__root"
    # a ref into the tool's own properties: keep it valid by pointing into the hoisted copy of the tool schema
    return f"#/$defs/{prefix}__root{ref[1:]}"


def _embed(schema: dict[str, Any], prefix: str, root_defs: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    defs = {**schema.pop("definitions", {}), **schema.pop("$defs", {})}
    schema.pop("$schema", None)
    schema.pop("$id", None)
    needs_root = _uses_root_refs(schema) or any(_uses_root_refs(d) for d in defs.values())
    for name, sub in defs.items():
        root_defs[f"{prefix}{name}"] = _rewrite_refs(sub, prefix)
    embedded = _rewrite_refs(schema, prefix)
    if needs_root:
        root_defs[f"{prefix}__root"] = embedded
        return {"$ref": f"#/$defs/{prefix}__root"}
    return embedded


def _uses_root_refs(node: Any) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if (
            isinstance(ref, str)
            and ref.startswith("#")
            and not ref.startswith(("#/$defs/", "#/definitions/"))
        ):
            return True
        return any(_uses_root_refs(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_root_refs(v) for v in node)
    return False


def decision_schema(
    tools: Sequence[ToolSpec],
    final_schema: dict[str, Any] | None = None,
    *,
    max_reasoning_chars: int = 300,
    max_calls: int = 4,
    refusal: str | None = None,
    quote_source: str | None = None,
) -> dict[str, Any]:
    """The schema of one decision over `tools` (see the module docstring): with `refusal`, a refusal may be
    decided; quoted arguments are bound to `quote_source` (left unbound when None)."""
    root_defs: dict[str, Any] = {}
    reasoning = {"type": "string", "maxLength": max_reasoning_chars}
    final = _embed(final_schema or DEFAULT_FINAL_SCHEMA, "final__", root_defs)
    branches: list[dict[str, Any]] = []
    if tools:
        calls = []
        for tool in tools:
            calls.append(
                {
                    "type": "object",
                    "properties": {
                        "name": {"const": tool.name},
                        "arguments": _embed(
                            bind_quotes(tool.parameters, quote_source), f"{tool.name}__", root_defs
                        ),
                    },
                    "required": ["name", "arguments"],
                    "additionalProperties": False,
                }
            )
        branches.append(
            {
                "type": "object",
                "properties": {
                    "reasoning": reasoning,
                    "tool_calls": {
                        "type": "array",
                        "items": calls[0] if len(calls) == 1 else {"anyOf": calls},
                        "minItems": 1,
                        "maxItems": max_calls,
                    },
                },
                "required": ["reasoning", "tool_calls"],
                "additionalProperties": False,
            }
        )
    branches.append(
        {
            "type": "object",
            "properties": {"reasoning": reasoning, "final_answer": final},
            "required": ["reasoning", "final_answer"],
            "additionalProperties": False,
        }
    )
    if refusal is not None:
        branches.append(
            {
                "type": "object",
                "properties": {"reasoning": reasoning, "refuse": {"const": True}},
                "required": ["reasoning", "refuse"],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = branches[0] if len(branches) == 1 else {"anyOf": branches}
    if root_defs:
        schema = {**schema, "$defs": root_defs}
    return schema


def parse_decision(text: str, step: int, refusal: str | None = None) -> Decision:
    """Parse decoded text into a `Decision`, assigning call ids (a refusal answers with `refusal`); raise
    `ModelError` naming the problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = text if len(text) <= 200 else text[:200] + "..."
        raise ModelError(
            f"model output is not valid JSON ({exc.msg} at char {exc.pos}): {snippet!r}"
        ) from None
    return decision_from_data(data, step, refusal)


def decision_from_data(data: Any, step: int, refusal: str | None = None) -> Decision:
    """Build a `Decision` from decoded JSON data, assigning call ids; `{"refuse": true}` answers with the fixed
    `refusal` text (a `ModelError` when the graph offers none)."""
    if not isinstance(data, dict):
        raise ModelError(f"model output must be a JSON object, got {type(data).__name__}")
    if data.get("refuse") is True and not data.get("tool_calls") and data.get("final_answer") is None:
        if refusal is None:
            raise ModelError("the model refused, but this graph offers no refusal (no fixed refusal text)")
        return Decision(reasoning=data.get("reasoning", "") or "", final_answer=refusal)
    calls = data.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ModelError("model output: 'tool_calls' must be a list")
    try:
        return Decision(
            reasoning=data.get("reasoning", "") or "",
            tool_calls=[
                ToolCall(name=c.get("name", ""), arguments=c.get("arguments") or {}, id=call_id(step, i))
                if isinstance(c, dict)
                else ToolCall(name="", id=call_id(step, i))
                for i, c in enumerate(calls)
            ],
            final_answer=data.get("final_answer"),
        )
    except ValidationError as exc:
        raise ModelError(f"model output is not a decision: {exc.errors()[0]['msg']}") from None
