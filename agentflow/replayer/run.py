"""`replay(...)`: re-execute a recorded run against its recording, as a new run linked to the original.

Strict by default: the recorded model outputs stand in for the model and the recorded tool results for the
tools (no model loaded, no tool executed, no network); human decisions the original recorded are given again
when the replay pauses. The replay succeeds when every model call matches (messages, offer), every tool call
matches (tool, arguments), and the output and usage (steps, tokens, tool calls, cost) come out the same; else
it reports the first divergence. `live_tools` runs the tools for real; `live_model` asks a real model (the
recorded tool results still answer calls the original made with the same arguments); `until` stops at step N;
`fork_at` with `edits` continues live from an edited checkpoint of the original (a fork).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentflow.approval import HumanDecision
from agentflow.budget import Budget
from agentflow.exceptions import UserError
from agentflow.graph_walk import graph_roles
from agentflow.models.base import Model
from agentflow.replayer.player import Divergence, Player
from agentflow.replayer.recording import Recording
from agentflow.result import RunResult
from agentflow.status import RunStatus

__all__ = ["ReplayResult", "replay_run"]

_USAGE_KEYS = ("steps", "input_tokens", "output_tokens", "tool_calls")


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The replay's own run (`result`), the run it replays, and the first divergence (None: it matched)."""

    original: str
    result: RunResult
    diverged: Divergence | None
    mode: str
    model_calls_replayed: int = 0
    tool_results_replayed: int = 0

    @property
    def run_id(self) -> str:
        return self.result.run_id

    @property
    def ok(self) -> bool:
        return self.diverged is None and self.result.status in (
            RunStatus.SUCCEEDED,
            RunStatus.BUDGET_EXHAUSTED,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.result.run_id,
            "original": self.original,
            "mode": self.mode,
            "status": self.result.status,
            "output": self.result.output,
            "usage": self.result.usage,
            "diverged": self.diverged.as_dict() if self.diverged is not None else None,
            "model_calls_replayed": self.model_calls_replayed,
            "tool_results_replayed": self.tool_results_replayed,
        }


async def replay_run(
    runner: Any,
    run_id: str,
    *,
    graph: Any = None,
    live_tools: bool = False,
    live_model: str | Model | None = None,
    until: int | None = None,
    fork_at: int | None = None,
    edits: dict[str, Any] | None = None,
    on_event: Any = None,
) -> ReplayResult:
    """Replay run `run_id` with `runner` (see the module docstring)."""
    from agentflow.models.spec import load_model

    record = await runner.storage.get_run(run_id)
    if fork_at is not None:
        if until is not None or live_tools:
            raise UserError(
                "--fork-at continues live from a checkpoint: it takes neither --until nor --live-tools"
            )
        forked = await runner.fork(
            record.id, at=fork_at, edits=edits, graph=graph, model=live_model, on_event=on_event
        )
        return ReplayResult(record.id, forked, None, f"fork at {fork_at}")
    if edits is not None:
        raise UserError("--set edits a checkpoint: give --fork-at N with it")
    if until is not None and until < 1:
        raise UserError("--until counts steps from 1")
    recording = Recording.of(record, await runner.storage.events(record.id))
    live = load_model(live_model) if live_model is not None else None
    player = Player(recording, live_tools=live_tools, live_model=live)
    compiled, graph_ref = runner._compile(runner._graph_of(record, graph))
    default, role_models = _models(player, record, compiled, live)
    budget = Budget.from_dict(record.budget)
    if until is not None:
        budget = budget.with_overrides(max_steps=until)
    mode = "live model" if live is not None else "live tools" if live_tools else "recorded"
    new_id = _new_id()
    runner._players[new_id] = player
    try:
        result = await runner._start(
            compiled,
            graph_ref,
            record.input,
            default_model=default,
            role_models=role_models,
            budget=budget,
            settings=_settings_of(record),
            seed=record.seed,
            context=record.context,
            extra_settings={"replay_of": record.id, "replay_mode": mode},
            run_id=new_id,
            parent_id=record.id,
            check_sandbox=live_tools,
            on_event=on_event,
        )
        while result.status is RunStatus.AWAITING_APPROVAL:
            decisions = _recorded_decisions(player, result)
            if decisions is None:
                break
            result = await runner.decide(
                new_id, decisions, graph=compiled, model=default, models=role_models, on_event=on_event
            )
    finally:
        runner._players.pop(new_id, None)
    if player.first is None and (until is None or result.status is RunStatus.SUCCEEDED):
        _compare_end(player, record, result)
    elif player.first is None and result.status in (RunStatus.FAILED, RunStatus.CANCELLED):
        error = (result.error or {}).get("message") or str(result.status)
        player.first = Divergence(
            "output", None, "", None, str(result.status), f"the replay {result.status}: {error}"
        )
    return ReplayResult(record.id, result, player.first, mode, player.model_calls, player.tool_results)


def _settings_of(record: Any) -> Any:
    from agentflow.runtime.run_settings import settings_of

    return settings_of(record)


def _new_id() -> str:
    from agentflow.runner import new_run_id

    return new_run_id()


def _models(player: Player, record: Any, compiled: Any, live: Model | None) -> tuple[Model, dict[str, Model]]:
    """One model per role of the graph: the live one, or the recording priced as the original's spec."""
    recorded = (record.model or "demo").split()
    default_spec = next((m for m in recorded if "=" not in m.split(":", 1)[0]), "demo")
    by_role = dict(m.split("=", 1) for m in recorded if "=" in m.split(":", 1)[0])
    roles: dict[str, Model] = {}
    for role in graph_roles(compiled):
        spec = by_role.get(role) or _spec_seen(player.recording, role) or default_spec
        roles[role] = player.model(live.spec if live is not None else spec)
    return player.model(live.spec if live is not None else default_spec), roles


def _spec_seen(recording: Recording, role: str) -> str | None:
    for agent, calls in recording.calls.items():
        if calls and (agent == role or agent.startswith(role + ":")):
            return calls[0].model
    return None


def _recorded_decisions(player: Player, result: RunResult) -> list[HumanDecision] | None:
    """The decisions the original recorded for the calls the replay paused on (None: stop; divergence noted)."""
    decisions = []
    for call in result.pending:
        if call.decision is not None:
            continue
        data = player.recording.decision_for(call.call_id)
        if data is None and player.recording.record.status is RunStatus.AWAITING_APPROVAL:
            return None  # the original is waiting here too: the replay matched it up to its pause
        if data is None:
            player.first = player.first or Divergence(
                "approval",
                None,
                "",
                None,
                call.call_id,
                f"the replay waits for a decision on {call.tool} ({call.call_id}); the original recorded none",
            )
            return None
        decisions.append(HumanDecision.from_json(data["decision"], call.call_id))
    return decisions


def _compare_end(player: Player, record: Any, result: RunResult) -> None:
    """After a replay that matched call by call: the calls the original made and the replay did not, then
    the output and the usage."""
    left = player.recording.unused_calls()
    if left and player.strict:
        first = left[0]
        player.first = Divergence(
            "missing_calls",
            first.step,
            first.agent,
            len(left),
            0,
            f"the replay ended; the original went on with {len(left)} more model call(s), the next at step "
            f"{first.step} ({first.agent})",
        )
        return
    if result.status is not RunStatus(record.status) and record.status is not RunStatus.RUNNING:
        player.first = Divergence(
            "output",
            None,
            "",
            str(record.status),
            str(result.status),
            f"the replay {result.status}; the original {record.status}",
        )
        return
    if result.output != record.output:
        player.first = Divergence(
            "output",
            None,
            "",
            record.output,
            result.output,
            "the replay's final output differs from the original's",
        )
        return
    expected = {k: record.usage.get(k, 0) for k in _USAGE_KEYS}
    actual = {k: result.usage.get(k, 0) for k in _USAGE_KEYS}
    cost_then, cost_now = (
        float(record.usage.get("cost_usd", 0) or 0),
        float(result.usage.get("cost_usd", 0) or 0),
    )
    if expected != actual or abs(cost_then - cost_now) > 1e-9:
        player.first = Divergence(
            "usage",
            None,
            "",
            {**expected, "cost_usd": cost_then},
            {**actual, "cost_usd": cost_now},
            "the replay's usage differs from the original's (steps, tokens, tool calls or cost)",
        )
