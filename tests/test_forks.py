"""Checkpoint history and forks: a new run from any checkpoint, with edited state, linked to its parent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow import Runner, react_graph
from agentflow.testing import FunctionModel

from helpers import add, call, calls, final

pytestmark = pytest.mark.anyio


def answer_from_observation(request: agentflow.ModelRequest) -> dict[str, Any]:
    last = request.messages[-1]
    return final(f"got {last['content']}") if last["role"] == "tool" else calls(call("add", a=2, b=3))


async def test_history_numbers_checkpoints_with_step_and_node(db_path: Path) -> None:
    """History lists checkpoints oldest first with the node that wrote each and the next one."""
    graph = react_graph([add])
    async with Runner(db_path) as runner:
        result = await runner.run(graph, "2+3", model=FunctionModel(answer_from_observation))
        points = await runner.history(result.run_id, graph=graph)
    assert [p.number for p in points] == list(range(len(points)))
    assert [(p.after, p.next) for p in points] == [
        (None, ("__start__",)),
        ("__start__", ("model",)),
        ("model", ("tools",)),
        ("tools", ("model",)),
        ("model", ()),
    ]
    assert points[-1].values["output"] == "got 5"


async def test_fork_with_edited_tool_result(db_path: Path) -> None:
    """Forking after the tool ran, with a different observation, gives a different answer in a linked run."""
    graph = react_graph([add])
    model = FunctionModel(answer_from_observation)
    async with Runner(db_path) as runner:
        parent = await runner.run(graph, "2+3", model=model)
        points = await runner.history(parent.run_id, graph=graph)
        after_tools = next(p for p in points if p.after == "tools")
        index = len(after_tools.values["messages"]) - 1
        fork = await runner.fork(
            parent.run_id,
            at=after_tools.number,
            edits={f"/messages/{index}/content": "41"},
            graph=graph,
            model=model,
        )
        record = await runner.storage.get_run(fork.run_id)
    assert parent.output == "got 5" and fork.output == "got 41"
    assert record.parent_id == parent.run_id and record.forked_from == f"{parent.run_id}@{after_tools.number}"
    assert (
        fork.usage["steps"] == 1 and fork.usage["tool_calls"] == 0
    )  # only the model step after the fork ran


async def test_fork_at_input_reruns_with_edited_input(db_path: Path) -> None:
    """Forking at the first checkpoint starts over, with `input` replaced."""
    graph = react_graph([add])
    model = FunctionModel(lambda r: final(f"echo {r.messages[1]['content']}"))
    async with Runner(db_path) as runner:
        parent = await runner.run(graph, "one", model=model)
        fork = await runner.fork(parent.run_id, at=1, edits={"input": "two"}, graph=graph, model=model)
        with pytest.raises(agentflow.UserError, match="no 99"):
            await runner.fork(parent.run_id, at=99, graph=graph, model=model)
        with pytest.raises(agentflow.UserError, match="does not exist"):
            await runner.fork(
                parent.run_id, at=2, edits={"/messages/9/content": "x"}, graph=graph, model=model
            )
    assert fork.output == "echo two"
