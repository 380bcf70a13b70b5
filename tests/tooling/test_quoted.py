"""`Quoted` (agentflow/tooling/quoted.py): a string argument copied verbatim from the request.

Its schema carries the marker, tool-side validation refuses a value that is not a span of the request (for
`@tool` functions and raw JSON-schema tools alike), and a run hands the tool node the latest user message, so a
scripted model that ignores the grammar gets an observation naming the problem instead of a wrong call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

import agentflow
from agentflow.decoding.quotes import KEYWORD
from agentflow.exceptions import ToolArgumentsError
from agentflow.messages import ToolCall
from agentflow.testing import ScriptedModel
from agentflow.tooling.context import RunContext
from agentflow.tooling.execute import execute_call
from agentflow.tooling.tool import Tool


@agentflow.tool
def extract(name: Annotated[str, agentflow.Quoted(), Field(max_length=40)], note: str = "") -> str:
    """Record a name mentioned in the request."""
    return name


def test_the_schema_carries_the_marker() -> None:
    """The argument's JSON schema says it is quoted from the request; other fields are untouched."""
    props = extract.parameters["properties"]
    assert props["name"][KEYWORD] == "request"
    assert props["name"]["maxLength"] == 40 and props["name"]["type"] == "string"
    assert KEYWORD not in props["note"]


def test_validation_refuses_a_value_not_in_the_request() -> None:
    """With the request known, a non-span is a ToolArgumentsError naming the argument; a span passes."""
    request = 'Please file "Zoë O\'Brien" under clients'
    assert extract.validate_arguments({"name": "Zoë O'Brien"}, quote_source=request) == {
        "name": "Zoë O'Brien",
        "note": "",
    }
    with pytest.raises(ToolArgumentsError) as info:
        extract.validate_arguments({"name": "Zoe O'Brien"}, quote_source=request)
    assert "argument 'name'" in str(info.value) and "copied verbatim from the request" in str(info.value)
    with pytest.raises(ToolArgumentsError):
        extract.validate_arguments({"name": "Brie"}, quote_source=request)  # inside a word
    # outside a run (no request) nothing can be checked: the value passes
    assert extract.validate_arguments({"name": "anything"})["name"] == "anything"
    # an empty value quotes nothing: a quoted argument's default of "" stays valid (search_notes' query)
    from agentflow.toolkit import search_notes

    assert (
        search_notes.validate_arguments({"query": ""}, quote_source="find my note about milk")["query"] == ""
    )


def test_raw_schema_tools_check_the_marker_too() -> None:
    """A tool built from a JSON schema with the keyword (an MCP tool, say) is held to the same contract."""
    tool = Tool.from_schema(
        name="tag",
        description="Tag a phrase.",
        input_schema={
            "type": "object",
            "properties": {"phrase": {"type": "string", KEYWORD: "request"}},
            "required": ["phrase"],
        },
        function=lambda **kw: kw["phrase"],
    )
    assert tool.validate_arguments({"phrase": "red car"}, quote_source="the red car is mine")
    with pytest.raises(ToolArgumentsError) as info:
        tool.validate_arguments({"phrase": "blue car"}, quote_source="the red car is mine")
    assert "argument 'phrase'" in str(info.value) and "not copied verbatim" in str(info.value)


@pytest.mark.anyio
async def test_execute_call_turns_a_misquote_into_an_observation() -> None:
    """execute_call checks against `RunContext.request` and never runs the tool on a misquoted argument."""
    context = RunContext(run_id="r", request="Save the name Ada Lovelace")
    bad = await execute_call(
        ToolCall(name="extract", arguments={"name": "Ada Lovelance"}), {"extract": extract}, context
    )
    assert bad.is_error and bad.error_type == "invalid_arguments" and "copied verbatim" in bad.content
    good = await execute_call(
        ToolCall(name="extract", arguments={"name": "Ada Lovelace"}), {"extract": extract}, context
    )
    assert not good.is_error and good.content == "Ada Lovelace"


@pytest.mark.anyio
async def test_a_run_checks_quotes_against_the_latest_user_message(tmp_path: Path) -> None:
    """Through the react graph with a scripted model: a misquote comes back as an error observation, a correct
    quote runs; both against the run's request."""
    model = ScriptedModel(
        [
            {"reasoning": "r", "tool_calls": [{"name": "extract", "arguments": {"name": "Grace Hoper"}}]},
            {"reasoning": "r", "tool_calls": [{"name": "extract", "arguments": {"name": "Grace Hopper"}}]},
            {"reasoning": "r", "final_answer": "done"},
        ]
    )
    graph = agentflow.react_graph([extract])
    result = await agentflow.run(graph, "Remember Grace Hopper, please", db=tmp_path / "runs.db", model=model)
    assert result.status == "succeeded"
    from agentflow.store.runs import RunStore

    store = RunStore(tmp_path / "runs.db")
    try:
        calls = [e.data for e in store.events(result.run_id) if e.kind == "tool_called"]
    finally:
        store.close()
    assert [c["is_error"] for c in calls] == [True, False]
    assert "copied verbatim from the request" in calls[0]["content"]
    assert calls[1]["content"] == "Grace Hopper"


@pytest.mark.anyio
async def test_a_humans_edit_of_a_quoted_argument_is_taken_as_written(tmp_path: Path) -> None:
    """The quote contract binds the model, not a human: an approved edit with text the request never held runs
    as edited, while the model's own proposal is still checked against the request."""
    from agentflow.approval import HumanDecision

    model = ScriptedModel(
        [
            {"reasoning": "r", "tool_calls": [{"name": "extract", "arguments": {"name": "Grace Hopper"}}]},
            {"reasoning": "r", "final_answer": "done"},
        ]
    )
    graph = agentflow.react_graph([extract], approval="always")
    db = tmp_path / "runs.db"
    first = await agentflow.run(graph, "Remember Grace Hopper, please", db=db, model=model)
    assert first.status == "awaiting_approval"
    async with agentflow.Runner(db) as runner:
        call_id = first.pending[0].call_id
        edited = HumanDecision(action="approve", call_id=call_id, arguments={"name": "Ada Lovelace"})
        result = await runner.decide(first.run_id, [edited], graph=graph, model=model)
        events = await runner.storage.events(first.run_id)
    assert result.status == "succeeded"
    calls = [e.data for e in events if e.kind == "tool_called"]
    assert [(c["is_error"], c["content"]) for c in calls] == [(False, "Ada Lovelace")]


def test_quoted_marks_strings_only() -> None:
    """A quote is a string: the marker on another type is refused when the tool is defined, naming the type
    and the optional form."""
    with pytest.raises(
        agentflow.ToolDefinitionError, match=r"not list\[str\].*Annotated\[str, Quoted\(\)\] \| None"
    ):

        @agentflow.tool
        def tags(items: Annotated[list[str], agentflow.Quoted()]) -> str:
            """Tag things."""
            return ""

    @agentflow.tool
    def maybe(name: Annotated[str, agentflow.Quoted()] | None = None) -> str:
        """Maybe a name."""
        return name or ""

    assert maybe.validate_arguments({"name": None}, quote_source="hello there") == {"name": None}
