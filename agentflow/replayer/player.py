"""Serving a recording to a replay: the recorded model outputs (a `Model` per recorded spec), the recorded
tool results (instead of executing tools), and the first place where the replay does not match.

Strict (the default): any difference — a model call the original did not make, other messages or another offer
(a changed prompt, tool or schema), another tool call — stops the replay with `ReplayDivergedError` naming the
step, the agent, what was expected and what happened. With a live model, differences are noted (the first one
is reported) and the run goes on: its decisions are the live model's, and a tool call the original made with
the same arguments gets the recorded result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agentflow.exceptions import ReplayDivergedError
from agentflow.messages import Decision, ToolCall, Usage
from agentflow.models.base import Model, ModelRequest, ModelResponse
from agentflow.redaction import REDACTED
from agentflow.replayer.recording import RecordedCall, Recording

__all__ = ["Divergence", "Player", "ReplayDivergedError", "ReplayModel"]

_VOLATILE = ("decision_id",)  # message keys that differ between executions by design


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where a replay first differs from its original: `what` is one of "messages", "offer", "decision",
    "extra_call", "tool_call", "approval", "missing_calls", "output", "usage"."""

    what: str
    step: int | None
    agent: str
    expected: Any
    actual: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "step": self.step,
            "agent": self.agent,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
        }


class Player:
    """The recording a replay runs against, and the first divergence seen."""

    def __init__(
        self, recording: Recording, *, live_tools: bool = False, live_model: Model | None = None
    ) -> None:
        self.recording = recording
        self.live_tools = live_tools
        self.live_model = live_model
        self.first: Divergence | None = None
        self.model_calls = 0  # model calls served from the recording
        self.tool_results = 0  # tool results served from the recording

    @property
    def strict(self) -> bool:
        return self.live_model is None

    def diverge(self, divergence: Divergence) -> None:
        """Note `divergence` (the first one is kept); a strict replay stops here."""
        if self.first is None:
            self.first = divergence
        if self.strict:
            raise ReplayDivergedError(divergence)

    def model(self, spec: str) -> ReplayModel:
        """A model answering from the recording, priced as the original's `spec`."""
        return ReplayModel(self, spec)

    # -- tools ----------------------------------------------------------------------------------------------
    def tool_outcome(self, call: ToolCall, agent: str, step: int) -> dict[str, Any] | None:
        """The recorded outcome of `call` (a `tool_called` event's data), or None to execute it: live tools,
        or (with a live model) a call the original did not make with these arguments."""
        recorded = self.recording.next_tool(call.id)
        same = (
            recorded is not None
            and recorded["tool"] == call.name
            and _same(recorded["arguments"], call.arguments)
        )
        if same and not self.strict and recorded is not None and _holds(recorded["arguments"], REDACTED):
            same = False  # a live model's call cannot be matched with values the recording no longer has
        if self.live_tools or (not self.strict and not same):
            if self.live_tools and recorded is not None and _holds(recorded["arguments"], REDACTED):
                self.diverge(
                    Divergence(
                        "tool_call",
                        step,
                        agent,
                        recorded["arguments"],
                        call.arguments,
                        f"step {step} ({agent}): call {call.id} of '{call.name}' needs an argument the recording "
                        "redacted; it cannot run live with the original value",
                    )
                )
            return None
        if recorded is None:
            self.diverge(
                Divergence(
                    "tool_call",
                    step,
                    agent,
                    None,
                    {"tool": call.name, "arguments": call.arguments},
                    f"step {step} ({agent}): the replay calls '{call.name}' ({call.id}); the original made no such "
                    "call",
                )
            )
            return None
        if not same:
            self.diverge(
                Divergence(
                    "tool_call",
                    step,
                    agent,
                    {"tool": recorded["tool"], "arguments": recorded["arguments"]},
                    {"tool": call.name, "arguments": call.arguments},
                    f"step {step} ({agent}): call {call.id} is {call.name}({_args(call.arguments)}); the original "
                    f"called {recorded['tool']}({_args(recorded['arguments'])})",
                )
            )
            return None
        self.tool_results += 1
        return recorded


class ReplayModel:
    """A `Model` whose decisions are the recording's, each checked against what the replay asks."""

    def __init__(self, player: Player, spec: str) -> None:
        self._player = player
        self._spec = spec

    @property
    def spec(self) -> str:
        return self._spec

    async def decide(self, request: ModelRequest) -> ModelResponse:
        from agentflow.nodes.model_node import offer_of
        from agentflow.runtime.services import agent_label

        player = self._player
        agent = agent_label(request.role)
        recorded = player.recording.next_call(agent)
        live = player.live_model
        if recorded is None:
            player.diverge(
                Divergence(
                    "extra_call",
                    request.step,
                    agent,
                    None,
                    "a model call",
                    f"step {request.step} ({agent}): the replay asks the model; the original run made no further "
                    f"call for {agent}",
                )
            )
        else:
            digest, tools = offer_of(request)
            if digest != recorded.offer:
                player.diverge(_offer_divergence(recorded, tools, request, player.recording, agent))
            else:
                _check_messages(player, recorded, request, agent)
        if live is not None:
            response = await live.decide(request)
            if recorded is not None and response.decision.model_dump(mode="json") != recorded.decision:
                player.diverge(
                    Divergence(
                        "decision",
                        request.step,
                        agent,
                        recorded.decision,
                        response.decision.model_dump(mode="json"),
                        f"step {request.step} ({agent}): the live model decided otherwise than the original",
                    )
                )
            return response
        assert recorded is not None  # (a strict player raised above)
        player.model_calls += 1
        return ModelResponse(
            decision=Decision.model_validate(recorded.decision),
            usage=Usage(input_tokens=recorded.input_tokens, output_tokens=recorded.output_tokens),
            raw_text=recorded.raw_text,
            model_name="replay",
        )


def _check_messages(player: Player, recorded: RecordedCall, request: ModelRequest, agent: str) -> None:
    now = [_normal(dict(m)) for m in request.messages]
    then = [_normal(m) for m in recorded.messages]
    for index, (a, b) in enumerate(zip(then, now, strict=False)):
        if not _same(a, b):
            player.diverge(
                Divergence(
                    "messages",
                    request.step,
                    agent,
                    a,
                    b,
                    f"step {request.step} ({agent}): message {index} ({b.get('role')}) differs from the original's: "
                    f"expected {_short(a.get('content'))}, got {_short(b.get('content'))}",
                )
            )
            return
    if len(now) != len(then):
        player.diverge(
            Divergence(
                "messages",
                request.step,
                agent,
                len(then),
                len(now),
                f"step {request.step} ({agent}): the model is sent {len(now)} messages; the original sent "
                f"{len(then)}",
            )
        )


def _offer_divergence(
    recorded: RecordedCall,
    tools: list[dict[str, Any]],
    request: ModelRequest,
    recording: Recording,
    agent: str,
) -> Divergence:
    before = {t["name"]: t for t in (recording.offers.get(recorded.offer) or {}).get("tools", [])}
    now = {t["name"]: t for t in tools}
    changes = [f"'{n}' added" for n in now if n not in before]
    changes += [f"'{n}' removed" for n in before if n not in now]
    changes += [
        f"'{n}' changed its schema or description" for n in now if n in before and now[n] != before[n]
    ]
    old_final = (recording.offers.get(recorded.offer) or {}).get("final_schema")
    if not changes and old_final != request.final_schema:
        changes.append("the final-answer schema changed")
    return Divergence(
        "offer",
        request.step,
        agent,
        sorted(before),
        sorted(now),
        f"step {request.step} ({agent}): the tools offered to the model differ from the original's: "
        + ("; ".join(changes) or "their definitions changed"),
    )


def _normal(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in _VOLATILE}


def _same(recorded: Any, actual: Any) -> bool:
    """Equal, where a redacted recorded value matches whatever the replay has there."""
    if recorded == actual:
        return True
    if isinstance(recorded, str) and REDACTED in recorded:  # the rest of the text must still match
        if not isinstance(actual, str):
            return recorded == REDACTED
        pattern = ".+?".join(re.escape(part) for part in recorded.split(REDACTED))
        return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None
    if isinstance(recorded, dict) and isinstance(actual, dict):
        return recorded.keys() == actual.keys() and all(_same(recorded[k], actual[k]) for k in recorded)
    if isinstance(recorded, list) and isinstance(actual, list):
        return len(recorded) == len(actual) and all(
            _same(a, b) for a, b in zip(recorded, actual, strict=True)
        )
    return False


def _holds(value: Any, text: str) -> bool:
    return text in json.dumps(value, ensure_ascii=False, default=str)


def _args(arguments: Any) -> str:
    return _short(json.dumps(arguments, ensure_ascii=False, default=str), 80)


def _short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
