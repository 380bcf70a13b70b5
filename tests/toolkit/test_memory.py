"""The memory tools: remember in one run, recall in a later run (a new Runner), namespaced per user by the
run's context values; writes never wait for the embedding model; episodic memory of finished runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow.exceptions import ConfigError
from agentflow.memory import Memory, default_index, fill_namespace, remember_run
from agentflow.messages import ToolCall
from agentflow.store import open_storage
from agentflow.testing import ScriptedModel
from agentflow.tooling import RunContext, execute_call
from agentflow.toolkit import DEFAULT_TOOLS, forget, memory_tools, recall, remember

from helpers import call, calls, final

pytestmark = pytest.mark.anyio

TOOLS = {t.name: t for t in (remember, recall, forget)}


async def _observations(runner: agentflow.Runner, run_id: str, tool: str) -> list[str]:
    return [
        e.data["content"]
        for e in await runner.storage.events(run_id)
        if e.kind == "tool_called" and e.data["tool"] == tool
    ]


async def test_a_fact_remembered_in_one_run_is_recalled_in_the_next(tmp_path: Path) -> None:
    """Run 1 remembers a fact for alice; run 2, in a new Runner, recalls it; bob's namespace does not see it,
    and a run without a user id gets an error observation saying how to give one."""
    pytest.importorskip("onnxruntime", reason="needs the memory extra")
    db = tmp_path / "memory.db"
    graph = agentflow.react_graph(memory_tools())
    first = ScriptedModel(
        [calls(call("remember", text="Alice's favourite colour is teal", kind="preference")), final("noted")]
    )
    async with agentflow.Runner(storage=open_storage(db, index=default_index())) as runner:
        result = await runner.run(graph, "remember my colour", model=first, context={"user_id": "alice"})
        assert result.ok
        [saved] = await _observations(runner, result.run_id, "remember")
        assert '"remembered": "Alice\'s favourite colour is teal"' in saved
    ask = ScriptedModel([calls(call("recall", query="which colour do I like best")), final("teal")])
    async with agentflow.Runner(storage=open_storage(db, index=default_index())) as runner:
        alice = await runner.run(graph, "what colour?", model=ask, context={"user_id": "alice"})
        [found] = await _observations(runner, alice.run_id, "recall")
        assert "favourite colour is teal" in found and '"kind": "preference"' in found
        bob = await runner.run(graph, "what colour?", model=ask, context={"user_id": "bob"})
        assert await _observations(runner, bob.run_id, "recall") == ["[]"]
        nobody = await runner.run(graph, "what colour?", model=ask)
        [error] = await _observations(runner, nobody.run_id, "recall")
        assert "needs the run context value 'user_id'" in error and "--context user_id=" in error


async def test_remember_does_not_wait_for_the_embedding_model(tmp_path: Path) -> None:
    """While the embedding model is stuck, `remember` still returns (the text is committed and found by
    full-text search); the vector arrives once the model answers."""
    gate = threading.Event()

    def stuck(texts: list[str]) -> list[list[float]]:
        gate.wait(30)
        return [[float(len(t)), 1.0] for t in texts]

    async with open_storage(
        tmp_path / "m.db", index={"dims": 2, "embed": stuck, "model_id": "stuck"}
    ) as storage:
        ctx = RunContext(run_id="r1", call_id="call_1_0", store=storage.store, context={"user_id": "u"})
        outcome = await execute_call(
            ToolCall(name="remember", arguments={"text": "the boiler is serviced in May"}), TOOLS, ctx
        )
        assert not outcome.is_error and outcome.result["remembered"] == "the boiler is serviced in May"
        hits = await storage.store.asearch(("user", "u"), query="boiler", mode="fts")
        assert [h.value["text"] for h in hits] == ["the boiler is serviced in May"]
        assert not gate.is_set()
        gate.set()
        await storage.store.aflush()
        assert [h.key for h in await storage.store.asearch(("user", "u"), query="boiler", mode="vector")] == [
            outcome.result["id"]
        ]


async def test_duplicates_update_instead_of_adding(tmp_path: Path) -> None:
    """The same fact twice (modulo case and spacing) is one memory; without embeddings a near duplicate by
    words updates it too; forget removes it, and forgetting it again is an error observation."""
    async with open_storage(tmp_path / "m.db") as storage:
        ctx = RunContext(run_id="r", store=storage.store, context={"user_id": "u"})
        one = await remember.function("Bob lives in Lisbon", ctx)
        two = await remember.function("  bob lives in lisbon. ", ctx)
        three = await remember.function("Bob lives in Lisbon now", ctx)
        assert one["id"] == two["id"] == three["id"]
        found = await recall.function("Lisbon", ctx)
        assert [m["text"] for m in found] == ["Bob lives in Lisbon now"]
        assert await forget.function(one["id"], ctx) == f"forgot {one['id']}"
        outcome = await execute_call(ToolCall(name="forget", arguments={"memory_id": one["id"]}), TOOLS, ctx)
        assert outcome.is_error and "no memory with id" in outcome.content


async def test_namespace_templates() -> None:
    """Templates fill from context values (escaped into one label each); bad templates fail early."""
    assert fill_namespace(("user", "{user_id}"), {"user_id": "a.b@c.com"}) == ("user", "a%2Eb@c%2Ecom")
    assert fill_namespace(("org", "{org}", "agent", "{agent}"), {"org": "o1", "agent": "triage"}) == (
        "org",
        "o1",
        "agent",
        "triage",
    )
    with pytest.raises(ConfigError, match="values 'org', 'agent'"):
        fill_namespace(("org", "{org}", "{agent}"), {})
    for bad in (("user", "{user.id}"), ("user", "{}"), ("a.b",), ()):
        with pytest.raises(ConfigError):
            memory_tools(bad)


def test_tool_metadata() -> None:
    """The memory tools are in the toolkit but not in DEFAULT_TOOLS; hints say what each does."""
    assert not {remember.name, recall.name, forget.name} & {t.name for t in DEFAULT_TOOLS}
    assert remember.idempotent and not remember.read_only
    assert recall.read_only and forget.destructive
    assert set(remember.parameters["properties"]) == {"text", "kind"}
    assert recall.parameters["properties"]["limit"]["maximum"] == 20


async def test_episodic_memory_of_a_finished_run(tmp_path: Path) -> None:
    """`remember_run` stores what a run was asked, its answer and its tools under a namespace filled from the
    run's context; a later recall finds it."""
    db = tmp_path / "episodes.db"
    graph = agentflow.react_graph(DEFAULT_TOOLS)
    model = ScriptedModel([calls(call("calculator", expression="17 * 23 + 4")), final("395")])
    async with agentflow.Runner(db) as runner:
        result = await runner.run(graph, "What is 17 * 23 + 4?", model=model, context={"user_id": "ann"})
        key = await remember_run(runner.storage, result.run_id, namespace=("episodes", "{user_id}"))
        again = await remember_run(runner.storage, result.run_id, namespace=("episodes", "{user_id}"))
        assert key == again == result.run_id
        memory = Memory(runner.storage.store, ("episodes", "ann"))
        [episode] = await memory.recall("17 * 23")
        text: Any = episode.value["text"]
        assert episode.value["kind"] == "episode" and episode.value["status"] == "succeeded"
        assert "What is 17 * 23 + 4?" in text and "395" in text and "calculator" in text
