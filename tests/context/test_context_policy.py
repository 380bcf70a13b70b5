"""Context policies in a run: a ReAct agent whose observations outgrow the window keeps sending a valid,
bounded prompt (system prompt and task kept, pairs intact), records each cut, and can summarise what it cut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow import ContextPolicy, tool
from agentflow.context import check_pairing, counter_for, missing_results, window_of
from agentflow.events import full_messages
from agentflow.exceptions import ConfigError
from agentflow.models.base import ModelRequest
from agentflow.testing import FunctionModel

from helpers import call, calls, final

pytestmark = pytest.mark.anyio


@tool(read_only=True)
def page(n: int) -> str:
    """Read page n of a long report."""
    return f"page {n}: " + "lorem ipsum dolor sit amet " * 40


def reader(steps: int) -> FunctionModel:
    """Reads pages 1..steps one per step (by step number: cut prompts do not change its plan), then answers."""

    def decide(request: ModelRequest) -> dict[str, Any]:
        if request.step <= steps:
            return calls(call("page", n=request.step))
        return final(f"read {steps} pages")

    return FunctionModel(decide, spec="reader")


async def _trace(runner: agentflow.Runner, run_id: str) -> tuple[list[list[dict[str, Any]]], list[Any]]:
    events = await runner.storage.events(run_id)
    sent = full_messages([{**e.data, "agent": e.agent} for e in events if e.kind == "model_called"])
    return sent, [e for e in events if e.kind == "context_trimmed"]


async def test_keep_last_keeps_the_prompt_valid_and_bounded(tmp_path: Path) -> None:
    """Every prompt of a long run starts with the system prompt and the task, keeps calls and results
    paired and stays under the window; the cuts are in the trace; the graph state keeps everything."""
    policy = ContextPolicy.keep_last(max_tokens=1600, reserve=100)
    graph = agentflow.react_graph([page], context=policy, system_prompt="You read reports.")
    async with agentflow.Runner(tmp_path / "ctx.db") as runner:
        result = await runner.run(graph, "Summarise the report", model=reader(12))
        assert result.ok and result.output == "read 12 pages"
        sent, cuts = await _trace(runner, result.run_id)
        count, how = counter_for(None)
        assert how == "estimate"
        for messages in sent:
            assert (
                messages[0]["content"] == "You read reports."
                and messages[1]["content"] == "Summarise the report"
            )
            assert check_pairing(messages) is None
            assert sum(count(m) for m in messages) <= 1600
        assert len(sent[-1]) < 2 + 2 * 12 + 1  # older pages left the prompt
        assert cuts and all(c.data["policy"] == "keep_last" and c.data["dropped"] > 0 for c in cuts)
        assert all(c.data["tokens_after"] < c.data["tokens_before"] for c in cuts)
        assert len(cuts) < 12  # a cut stays put for a while (hysteresis), not one per step
        state = await runner.history(result.run_id, graph=graph)
        assert len(state[-1].values["messages"]) == 1 + 2 * 12 + 1  # the state keeps the whole conversation


async def test_summarize_folds_cut_turns_into_the_system_prompt(tmp_path: Path) -> None:
    """The summarizer model sees the cut turns (and its previous summary); the prompt carries the summary in
    the system message; the summary is in the trace."""
    asked: list[str] = []

    def summarise(request: ModelRequest) -> dict[str, Any]:
        asked.append(request.messages[-1]["content"])
        return final(f"summary {len(asked)}: read pages up to {asked[-1].count('page ')}")

    policy = ContextPolicy.summarize(
        FunctionModel(summarise, spec="summarizer"), max_tokens=1600, reserve=100
    )
    graph = agentflow.react_graph([page], context=policy, system_prompt="You read reports.")
    async with agentflow.Runner(tmp_path / "ctx.db") as runner:
        result = await runner.run(graph, "Summarise the report", model=reader(12))
        assert result.ok
        sent, cuts = await _trace(runner, result.run_id)
    assert len(asked) == len(cuts) >= 2
    assert "Previous summary: summary 1" in asked[1]
    assert cuts[-1].data["summary"].startswith(f"summary {len(asked)}")
    assert sent[-1][0]["content"].startswith("You read reports.\n\nSummary of the earlier conversation:")
    assert all(check_pairing(m) is None for m in sent)


async def test_a_custom_policy_is_checked(tmp_path: Path) -> None:
    """A user function decides what to send; one that drops the task (or splits a call from its results)
    fails the run with a ConfigError naming the agent."""

    def keep_tail(messages: list[Any], budget: int, count: Any) -> list[Any]:
        return [messages[0], messages[1], *messages[-2:]]

    def drop_task(messages: list[Any], budget: int, count: Any) -> list[Any]:
        return [messages[0], *messages[-2:]]

    async with agentflow.Runner(tmp_path / "ctx.db") as runner:
        good = agentflow.react_graph([page], context=ContextPolicy.custom(keep_tail, max_tokens=1200))
        result = await runner.run(good, "Read it", model=reader(8))
        sent, cuts = await _trace(runner, result.run_id)
        assert result.ok and cuts and max(len(m) for m in sent) <= 4
        assert all(missing_results(m, m) == [] and check_pairing(m) is None for m in sent)
        bad = agentflow.react_graph([page], context=ContextPolicy.custom(drop_task, max_tokens=1200))
        failed = await runner.run(bad, "Read it", model=reader(8))
        assert failed.error is not None and failed.error["type"] == "ConfigError"
        assert "dropped the system prompt or the task" in failed.error["message"]


async def test_the_window_comes_from_the_model_or_the_policy(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A transformers model reports its context length and counts with its tokenizer; a model that reports
    none needs `max_tokens`, else the run fails with a ConfigError saying so."""
    import json

    from agentflow.models.transformers import TransformersModel

    local = TransformersModel(tiny_model_dir)
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert window_of(local) == config["max_position_embeddings"]
    count, how = counter_for(local)
    assert how == "tokenizer" and count({"role": "user", "content": "hello world"}) > 4
    async with agentflow.Runner(tmp_path / "ctx.db") as runner:
        graph = agentflow.react_graph([page], context=ContextPolicy.keep_last())
        result = await runner.run(graph, "Read it", model=reader(1))
        assert result.error is not None and "reports no context window" in result.error["message"]
    with pytest.raises(ConfigError, match="target <= trigger"):
        ContextPolicy.keep_last(target=0.9, trigger=0.5)
