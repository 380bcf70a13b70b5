"""`Tool.from_schema`: a tool described by a raw JSON schema (MCP tools), validated by a JSON Schema validator."""

from __future__ import annotations

from typing import Any

import pytest

from agentflow.exceptions import ToolArgumentsError, ToolDefinitionError
from agentflow.messages import ToolCall
from agentflow.tooling import RunContext, Tool, ToolReturn, execute_call

SCHEMA = {
    "type": "object",
    "title": "search arguments",
    "properties": {
        "query": {"type": "string", "pattern": "^[a-z ]+$", "maxLength": 20},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "filters": {
            "type": "object",
            "properties": {"lang": {"enum": ["en", "fr"]}},
            "additionalProperties": False,
        },
    },
    "required": ["query"],
    "additionalProperties": False,
}

pytestmark = pytest.mark.anyio


def make(function: Any = None, **options: Any) -> Tool:
    async def echo(**arguments: Any) -> dict[str, Any]:
        return arguments

    return Tool.from_schema(
        name="web.search-v2", description="Search.", input_schema=SCHEMA, function=function or echo, **options
    )


async def run(tool: Tool, arguments: Any) -> Any:
    return await execute_call(
        ToolCall(name=tool.name, arguments=arguments), {tool.name: tool}, RunContext(run_id="r")
    )


def test_schema_is_offered_as_is() -> None:
    """The schema the model sees is the given one, every keyword kept (no pydantic round trip)."""
    tool = make()
    assert tool.parameters == SCHEMA
    assert tool.spec.parameters["properties"]["query"]["pattern"] == "^[a-z ]+$"
    assert tool.args_model is None and tool.is_async


async def test_valid_arguments_reach_the_function_as_keywords() -> None:
    """Valid arguments are passed through unchanged as keyword arguments."""
    outcome = await run(make(), {"query": "cats", "limit": 3, "filters": {"lang": "fr"}})
    assert not outcome.is_error
    assert outcome.result == {"query": "cats", "limit": 3, "filters": {"lang": "fr"}}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "argument 'query' is required"),
        ({"query": "cats", "page": 2}, "unknown argument 'page'"),
        ({"query": "cats", "limit": 80}, "argument 'limit': 80 is greater than the maximum of 50"),
        ({"query": "Cats!"}, "argument 'query': 'Cats!' does not match '^[a-z ]+$'"),
        (
            {"query": "a", "filters": {"lang": "de", "x": 1}},
            "argument 'filters.lang': 'de' is not one of ['en', 'fr']",
        ),
        ({"query": "a", "filters": {"x": 1}}, "unknown argument 'filters.x'"),
    ],
)
async def test_invalid_arguments_become_observations_in_the_house_style(
    arguments: Any, expected: str
) -> None:
    """Each JSON Schema violation is named like a pydantic one, and the function is not called."""
    called = []
    outcome = await run(make(lambda **kw: called.append(kw)), arguments)
    assert outcome.is_error and outcome.error_type == "invalid_arguments"
    assert outcome.content.startswith("invalid arguments for tool 'web.search-v2': ")
    assert expected in outcome.content, outcome.content
    assert called == []


def test_json_arguments_validate_for_approval_predicates() -> None:
    """`json_arguments` returns validated JSON for schema tools and raises the typed error otherwise."""
    tool = make()
    assert tool.json_arguments({"query": "a"}) == {"query": "a"}
    with pytest.raises(ToolArgumentsError, match="argument 'query' is required"):
        tool.json_arguments({})
    with pytest.raises(ToolArgumentsError, match=r"\(arguments\): expected a JSON object"):
        tool.json_arguments([1, 2])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "bad name!"}, "tool name 'bad name!'"),
        ({"input_schema": {"type": "array"}}, "must be a JSON object schema of type 'object'"),
        (
            {"input_schema": {"type": "object", "properties": {"x": {"type": "strin"}}}},
            "invalid input schema at /properties/x/type",
        ),
        ({"function": 42}, "function must be callable"),
    ],
)
def test_bad_definitions_are_refused_with_a_reason(options: dict[str, Any], message: str) -> None:
    """A name, schema or function that cannot make a tool raises ToolDefinitionError saying what is wrong."""
    base: dict[str, Any] = {
        "name": "t",
        "description": "",
        "input_schema": {"type": "object"},
        "function": lambda: None,
    }
    with pytest.raises(ToolDefinitionError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Tool.from_schema(**{**base, **options})


def test_declared_output_schema_is_kept() -> None:
    """An output schema given to `from_schema` is the tool's `output_schema`."""
    out = {"type": "object", "properties": {"hits": {"type": "integer"}}}
    assert make(output_schema=out).output_schema == out
    assert make().output_schema is None


async def test_tool_return_sets_text_data_and_error() -> None:
    """A function returning `ToolReturn` decides the observation text, the recorded data and the error flag."""
    ok = await run(make(lambda **kw: ToolReturn(text="3 hits", data={"hits": 3})), {"query": "a"})
    assert (ok.content, ok.result, ok.is_error, ok.error_type) == ("3 hits", {"hits": 3}, False, None)
    bad = await run(
        make(
            lambda **kw: ToolReturn(
                text="quota", data={"retry": 30}, is_error=True, error_type="mcp_tool_error"
            )
        ),
        {"query": "a"},
    )
    assert (bad.content, bad.result, bad.is_error, bad.error_type) == (
        "quota",
        {"retry": 30},
        True,
        "mcp_tool_error",
    )


async def test_tool_return_text_is_capped_like_any_observation() -> None:
    """A huge `ToolReturn` text is cut to the tool's limit with the visible marker."""
    outcome = await run(
        make(lambda **kw: ToolReturn(text="x" * 10_000), max_observation_chars=100), {"query": "a"}
    )
    assert len(outcome.content) == 100 and "[truncated:" in outcome.content


def test_exactly_one_argument_description() -> None:
    """A Tool needs either a pydantic model or a JSON schema for its arguments, not both or neither."""
    with pytest.raises(ToolDefinitionError, match="exactly one of args_model and input_schema"):
        Tool(name="t", description="", function=lambda: None)
