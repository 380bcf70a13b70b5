"""Model fakes for tests — agentflow's own and yours.

`ScriptedModel` replays given decisions: the N-th assistant turn of a conversation gets the N-th decision, so
one instance serves many concurrent runs and a resumed run picks up where it stopped. `FunctionModel` calls
your function for each request. Both report token usage (about 4 characters a token) so budgets apply.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Awaitable, Callable, Sequence
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
        decision = decision_from_data(data, request.step)
    except ModelError as exc:
        raise ModelError(f"{model_name}: step {request.step}: {exc}") from None
    raw = json.dumps({k: v for k, v in data.items() if k in ("reasoning", "tool_calls", "final_answer")},
                     ensure_ascii=False, separators=(",", ":"))
    usage = Usage(input_tokens=usage_override.get("input_tokens", _prompt_tokens(request)),
                  output_tokens=usage_override.get("output_tokens", _estimate_tokens(raw)))
    return ModelResponse(decision=decision, usage=usage, raw_text=raw, model_name=model_name)


class ScriptedModel:
    """Replays `decisions` in order, one per step of a conversation.

    A decision is a `Decision` or a dict like `{"reasoning": "...", "tool_calls": [{"name": "calc",
    "arguments": {...}}]}` / `{"final_answer": "..."}`; an optional `"usage"` dict overrides token counts.
    """

    def __init__(self, decisions: Sequence[DecisionLike], *, spec: str = "scripted", name: str = "scripted") -> None:
        self.decisions = [_as_data(d) for d in decisions]
        for index, data in enumerate(self.decisions):
            try:
                decision_from_data(dict(data, usage=None) if "usage" in data else data, 0)
            except ModelError as exc:
                raise ModelSpecError(f"scripted decision #{index}: {exc}") from None
        self._spec = spec
        self.name = name

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedModel:
        """Load a JSON file holding a list of decisions (or `{"decisions": [...]}`)."""
        file = Path(path)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelSpecError(f"scripted model file not found: {file}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelSpecError(f"scripted model file {file} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = data.get("decisions")
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ModelSpecError(f"scripted model file {file} must hold a list of decision objects")
        return cls(data, spec=f"scripted:{file}", name=file.stem)

    @property
    def spec(self) -> str:
        return self._spec

    async def decide(self, request: ModelRequest) -> ModelResponse:
        index = sum(1 for m in request.messages if m["role"] == "assistant")
        if index >= len(self.decisions):
            raise ModelError(f"scripted model '{self.name}' has no decision for turn {index + 1} "
                             f"(the script has {len(self.decisions)})")
        return _respond(dict(self.decisions[index]), request, self.name)


class FunctionModel:
    """Calls `function(request)` (sync or async) for each decision; it returns a `Decision` or a dict."""

    def __init__(self, function: Callable[[ModelRequest], DecisionLike | Awaitable[DecisionLike]], *,
                 spec: str = "function") -> None:
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
            return _respond(_as_data(result), request, self._spec)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ModelError(f"function model returned an invalid decision: {exc}") from None
