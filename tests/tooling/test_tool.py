"""The `@tool` decorator: names, descriptions, argument schemas, hints and definition errors."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from agentflow.exceptions import ToolDefinitionError
from agentflow.models.base import ToolSpec
from agentflow.tooling import RunContext, Tool, tool


class Point(BaseModel):
    x: float
    y: float = 0.0


class Address(BaseModel):
    street: str
    location: Point


def test_name_and_description_from_function() -> None:
    """The name is the function's and the description the docstring's first paragraph, joined into one line."""

    @tool
    def lookup_city(name: str) -> str:
        """Look up a city
        by its name.

        This second paragraph is not part of the description.
        """
        return name

    assert isinstance(lookup_city, Tool)
    assert lookup_city.name == "lookup_city"
    assert lookup_city.description == "Look up a city by its name."


def test_name_and_description_overrides() -> None:
    """Explicit `name` and `description` win; a function without docstring falls back to its name."""

    @tool(name="find", description="Find things.")
    def lookup(q: str) -> str:
        return q

    @tool
    def undocumented(q: str) -> str:
        return q

    assert (lookup.name, lookup.description) == ("find", "Find things.")
    assert undocumented.description == "undocumented"


def test_schema_from_hints() -> None:
    """Types, `Annotated` constraints, descriptions and defaults become the JSON schema of the arguments."""

    @tool
    def search(
        query: Annotated[str, Field(description="What to look for")],
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        exact: bool = False,
    ) -> list[str]:
        """Search."""
        return []

    schema = search.parameters
    assert "title" not in schema
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["query"]["type"] == "string" and props["query"]["description"] == "What to look for"
    assert props["limit"]["type"] == "integer"
    assert (props["limit"]["minimum"], props["limit"]["maximum"], props["limit"]["default"]) == (1, 50, 10)
    assert props["exact"] == {"type": "boolean", "default": False, "title": "Exact"}


def test_optional_argument() -> None:
    """An `X | None = None` argument is optional and nullable in the schema."""

    @tool
    def greet(name: str | None = None) -> str:
        return name or "world"

    schema = greet.parameters
    assert "required" not in schema
    assert schema["properties"]["name"]["default"] is None
    assert {"type": "null"} in schema["properties"]["name"]["anyOf"]
    assert greet.args_model.model_validate({}).name is None


def test_nested_model_argument() -> None:
    """A pydantic model argument is described through `$defs` and validated into the model."""

    @tool
    def mail(to: Address) -> str:
        return to.street

    schema = mail.parameters
    assert schema["properties"]["to"] == {"$ref": "#/$defs/Address"}
    assert schema["$defs"]["Address"]["properties"]["location"] == {"$ref": "#/$defs/Point"}
    args = mail.args_model.model_validate({"to": {"street": "Main St", "location": {"x": 1}}})
    assert args.to == Address(street="Main St", location=Point(x=1))


def test_run_context_is_hidden_and_remembered() -> None:
    """A parameter typed `RunContext` is left out of the schema and recorded as the context parameter."""

    @tool
    def remember(fact: str, context: RunContext) -> str:
        return fact

    assert remember.context_param == "context"
    assert list(remember.parameters["properties"]) == ["fact"]
    assert "context" not in remember.args_model.model_fields


def test_tool_without_context() -> None:
    """A tool that does not ask for the context has no context parameter."""

    @tool
    def double(n: int) -> int:
        return n * 2

    assert double.context_param is None


def test_output_type_and_schema() -> None:
    """The return annotation becomes `output_type` and `output_schema`; without one both are empty."""

    @tool
    def locate(name: str) -> Point:
        return Point(x=0)

    @tool
    def anything(name: str):  # type: ignore[no-untyped-def]
        return name

    assert locate.output_type is Point
    assert locate.output_schema is not None and locate.output_schema["title"] == "Point"
    assert anything.output_type is Any and anything.output_schema is None


def test_spec_for_models() -> None:
    """`spec` bundles name, description and parameters for a model backend."""

    @tool
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    assert ping.spec == ToolSpec(name="ping", description="Ping a host.", parameters=ping.parameters)


def test_default_hints_are_cautious() -> None:
    """Without hints a tool counts as destructive and not idempotent."""

    @tool
    def act(x: int) -> int:
        return x

    assert (act.read_only, act.destructive, act.idempotent) == (False, True, False)


def test_read_only_implies_idempotent_and_not_destructive() -> None:
    """`read_only=True` makes a tool idempotent and non-destructive, even if `destructive=True` is passed."""

    @tool(read_only=True, destructive=True)
    def peek(x: int) -> int:
        return x

    assert (peek.read_only, peek.destructive, peek.idempotent) == (True, False, True)


def test_read_only_keeps_explicit_idempotent_false() -> None:
    """An explicit `idempotent=False` survives `read_only=True` (e.g. a clock)."""

    @tool(read_only=True, idempotent=False)
    def now() -> str:
        return "t"

    assert (now.read_only, now.idempotent) == (True, False)


def test_options_are_kept() -> None:
    """Timeout, retries, retry exceptions and the observation cap are stored on the tool."""

    @tool(timeout_s=5, retries=2, retry_on=(ConnectionError,), max_observation_chars=100, destructive=False)
    def fetch(url: str) -> str:
        return url

    assert (fetch.timeout_s, fetch.retries, fetch.retry_on, fetch.max_observation_chars) == (
        5, 2, (ConnectionError,), 100)
    assert fetch.destructive is False


def test_async_function_detected() -> None:
    """An `async def` tool is marked async; a plain function is not."""

    @tool
    async def later(x: int) -> int:
        return x

    @tool
    def now(x: int) -> int:
        return x

    assert later.is_async and not now.is_async


def test_tool_is_frozen() -> None:
    """A `Tool` cannot be modified after it is built."""

    @tool
    def fixed(x: int) -> int:
        return x

    with pytest.raises(AttributeError):
        fixed.name = "other"  # type: ignore[misc]


def _var_positional(*values: int) -> int:
    return 0


def _var_keyword(**options: int) -> int:
    return 0


def _unannotated(x, y: int) -> int:  # type: ignore[no-untyped-def]
    return 0


def _positional_only(x: int, /) -> int:
    return 0


def _unresolvable(x: NoSuchType) -> int:  # type: ignore[name-defined]  # noqa: F821
    return 0


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (_var_positional, r"\*args / \*\*kwargs are not supported \('values'\)"),
        (_var_keyword, r"\*args / \*\*kwargs are not supported \('options'\)"),
        (_unannotated, r"parameter 'x' needs a type annotation"),
        (_positional_only, r"positional-only parameter 'x'"),
        (_unresolvable, r"cannot resolve type hints"),
    ],
)
def test_bad_signatures(function: Any, message: str) -> None:
    """Signatures that cannot become an argument schema raise `ToolDefinitionError` saying why."""
    with pytest.raises(ToolDefinitionError, match=message):
        tool(function)


@pytest.mark.parametrize("name", ["my-tool", "has space", "1st", "a.b"])
def test_bad_names(name: str) -> None:
    """A tool name that is not an identifier raises `ToolDefinitionError`."""

    def fine(x: int) -> int:
        return x

    with pytest.raises(ToolDefinitionError, match="must be an identifier"):
        tool(name=name)(fine)


def test_not_a_function() -> None:
    """Decorating something that is not callable raises `ToolDefinitionError`."""
    with pytest.raises(ToolDefinitionError, match="needs a function"):
        tool(42)  # type: ignore[call-overload]


class Opaque:
    """A plain class: pydantic can neither validate nor describe it."""


def test_argument_type_without_schema() -> None:
    """An argument type pydantic cannot describe as JSON schema raises `ToolDefinitionError`."""

    def use(thing: Opaque) -> int:
        return 0

    with pytest.raises(ToolDefinitionError, match="tool 'use': arguments cannot be described as JSON schema"):
        tool(use)


def test_argument_named_like_a_model_attribute_and_optional_context() -> None:
    """A parameter called `json` works (no shadowing warning), and `RunContext | None` is injected too."""

    @tool
    def fetch(json: str, schema: int = 1, ctx: RunContext | None = None) -> str:
        """Fetch."""
        return f"{json}{schema}{ctx is not None}"

    assert set(fetch.parameters["properties"]) == {"json", "schema"}
    assert fetch.context_param == "ctx"
