"""Scripted models: decisions from a script or a function instead of weights (exported as `agentflow.testing`).

`ScriptedModel` replays given decisions: the N-th assistant turn of a conversation gets the N-th decision, so
one instance serves many concurrent runs and a resumed run picks up where it stopped. `FunctionModel` calls
your function for each request. Both report token usage (about 4 characters a token) so budgets apply.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentflow.exceptions import ModelError, ModelSpecError
from agentflow.messages import Decision, Usage
from agentflow.models.base import ModelRequest, ModelResponse
from agentflow.models.decision_schema import decision_from_data

__all__ = ["FunctionModel", "ScriptedModel"]

DecisionLike = Decision | dict[str, Any]


def _estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _prompt_tokens(request: ModelRequest) -> int:
    return sum(_estimate_tokens(m["content"]) for m in request.messages)


def _as_data(item: DecisionLike) -> dict[str, Any]:
    if isinstance(item, Decision):
        return item.model_dump(mode="json", exclude={"tool_calls": {"__all__": {"id"}}})
    return dict(item)


def _respond(data: dict[str, Any], request: ModelRequest, model_name: str) -> ModelResponse:
    usage_override = data.pop("usage", None) or {}
    try:
        decision = decision_from_data(data, request.step, request.refusal)
    except ModelError as exc:
        raise ModelError(f"{model_name}: step {request.step}: {exc}") from None
    raw = json.dumps(
        {k: v for k, v in data.items() if k in ("reasoning", "tool_calls", "final_answer", "refuse")},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    usage = Usage(
        input_tokens=usage_override.get("input_tokens", _prompt_tokens(request)),
        output_tokens=usage_override.get("output_tokens", _estimate_tokens(raw)),
    )
    return ModelResponse(decision=decision, usage=usage, raw_text=raw, model_name=model_name)


@dataclass(frozen=True, slots=True)
class _Case:
    when: str | None  # a substring of the conversation's first user message; None: any
    decisions: list[dict[str, Any]]


def _parse_script(data: Any, where: str) -> list[_Case]:
    """A script: a list of decisions, `{"decisions": [...]}`, or `{"cases": [{"when": TEXT, "decisions":
    [...]}, ...], "decisions": [...]}` (the first case whose `when` occurs in the first user message)."""
    if isinstance(data, list):
        return [_Case(None, [_as_data(d) for d in data])]
    if not isinstance(data, dict) or not ({"decisions", "cases"} & data.keys()):
        raise ModelSpecError(f"{where}: expected a list of decisions or an object with 'decisions' / 'cases'")
    cases = []
    for index, case in enumerate(data.get("cases") or []):
        if (
            not isinstance(case, dict)
            or not isinstance(case.get("when"), str)
            or not isinstance(case.get("decisions"), list)
        ):
            raise ModelSpecError(f"{where}: case #{index} needs 'when' (text) and 'decisions' (a list)")
        cases.append(_Case(case["when"], [_as_data(d) for d in case["decisions"]]))
    if "decisions" in data:
        if not isinstance(data["decisions"], list):
            raise ModelSpecError(f"{where}: 'decisions' must be a list")
        cases.append(_Case(None, [_as_data(d) for d in data["decisions"]]))
    return cases


class ScriptedModel:
    """Replays scripted decisions, one per step of a conversation: the N-th assistant turn gets the N-th.

    A decision is a `Decision` or a dict like `{"reasoning": "...", "tool_calls": [{"name": "calc",
    "arguments": {...}}]}` / `{"final_answer": "..."}`; an optional `"usage"` dict overrides token counts.
    Multi-agent graphs script each role (`roles={"planner": [...], "executor": ...}`, else `decisions`), and a
    role whose agents work on different tasks scripts by case: `{"cases": [{"when": "weather", "decisions":
    [...]}], "decisions": [...]}` picks the first case whose `when` occurs in the conversation's first user
    message. Being stateless, one instance serves concurrent runs and resumed runs.
    """

    def __init__(
        self,
        decisions: Sequence[DecisionLike] | dict[str, Any] = (),
        *,
        roles: dict[str, Any] | None = None,
        spec: str = "scripted",
        name: str = "scripted",
    ) -> None:
        self._default = _parse_script(decisions, "scripted model") if decisions or not roles else []
        self._roles = {
            role: _parse_script(script, f"scripted model, role '{role}'")
            for role, script in (roles or {}).items()
        }
        for where, cases in [("", self._default), *((f"role '{r}', ", c) for r, c in self._roles.items())]:
            for case in cases:
                for index, data in enumerate(case.decisions):
                    try:
                        decision_from_data(
                            dict(data, usage=None) if "usage" in data else data, 0, "(the graph's refusal)"
                        )
                    except ModelError as exc:
                        raise ModelSpecError(f"scripted {where}decision #{index}: {exc}") from None
        self._spec = spec
        self.name = name

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The default script's decisions (its last case)."""
        return self._default[-1].decisions if self._default else []

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedModel:
        """Load a JSON file: a list of decisions, a script object, or `{"roles": {ROLE: script}, ...}`."""
        file = Path(path)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelSpecError(f"scripted model file not found: {file}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelSpecError(f"scripted model file {file} is not valid JSON: {exc}") from None
        roles = None
        if isinstance(data, dict) and "roles" in data:
            roles = data["roles"]
            if not isinstance(roles, dict):
                raise ModelSpecError(f"scripted model file {file}: 'roles' must map role names to scripts")
            data = {k: v for k, v in data.items() if k != "roles"}
            if not data:
                data = []
        if isinstance(data, list) and not all(isinstance(d, dict) for d in data):
            raise ModelSpecError(f"scripted model file {file} must hold a list of decision objects")
        try:
            return cls(data, roles=roles, spec=f"scripted:{file}", name=file.stem)
        except ModelSpecError as exc:
            raise ModelSpecError(f"scripted model file {file}: {exc}") from None

    @property
    def spec(self) -> str:
        return self._spec

    def _script_for(self, request: ModelRequest) -> list[dict[str, Any]]:
        cases = self._roles.get(request.role) or self._default
        first = next((m["content"] for m in request.messages if m["role"] == "user"), "")
        for case in cases:
            if case.when is None or case.when in first:
                return case.decisions
        who = f"role '{request.role}'" if request.role in self._roles else "the default script"
        raise ModelError(f"scripted model '{self.name}': no case of {who} matches the request {first[:80]!r}")

    async def decide(self, request: ModelRequest) -> ModelResponse:
        if not self._default and request.role not in self._roles:
            raise ModelError(
                f"scripted model '{self.name}' has no script for role '{request.role}' "
                f"(it scripts: {', '.join(sorted(self._roles))})"
            )
        decisions = self._script_for(request)
        index = sum(1 for m in request.messages if m["role"] == "assistant")
        if index >= len(decisions):
            raise ModelError(
                f"scripted model '{self.name}' has no decision for turn {index + 1} "
                f"(the script has {len(decisions)})"
            )
        return _respond(dict(decisions[index]), request, self.name)


class FunctionModel:
    """Calls `function(request)` (sync or async) for each decision; it returns a `Decision` or a dict."""

    def __init__(
        self,
        function: Callable[[ModelRequest], DecisionLike | Awaitable[DecisionLike]],
        *,
        spec: str = "function",
    ) -> None:
        self.function = function
        self._spec = spec

    @property
    def spec(self) -> str:
        return self._spec

    async def decide(self, request: ModelRequest) -> ModelResponse:
        result = self.function(request)
        if inspect.isawaitable(result):
            result = await result
        try:
            return _respond(_as_data(result), request, self._spec)
        except ValidationError as exc:
            raise ModelError(f"function model returned an invalid decision: {exc}") from None
