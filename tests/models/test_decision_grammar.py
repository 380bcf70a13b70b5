"""The decision envelope per request (agentflow/models/decision_grammar.py): quoted arguments bound to the
request, the refusal branch, and tools with nothing to quote left out of the decision instead of failing it."""

from __future__ import annotations

import json

import pytest

from agentflow.messages import user_message
from agentflow.models.base import ModelRequest, ToolSpec
from agentflow.models.decision_grammar import check_decision_engine, compile_decision, compile_request
from agentflow.models.decision_schema import decision_schema, parse_decision

NOTE = ToolSpec(
    name="write_note",
    description="Save a note.",
    parameters={
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": 200, "x-agentflow-quoted": "request"}},
        "required": ["text"],
        "additionalProperties": False,
    },
)
ADD = ToolSpec(
    name="add",
    description="Add.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    },
)


def test_each_request_binds_its_own_text() -> None:
    """Two requests, two grammars: each accepts spans of its own request only; without quotes the envelope is
    shared."""
    first = compile_request(ModelRequest(messages=[user_message("Write a note: buy milk")], tools=[NOTE]))
    second = compile_request(ModelRequest(messages=[user_message("Write a note: call Ana")], tools=[NOTE]))
    assert first.lark != second.lark
    assert "buy" in first.lark and "Ana" in second.lark
    # ... in one family: auto measures engines once for both, counting a compile per request
    assert first.family == second.family and first.per_request
    plain = ModelRequest(messages=[user_message("one")], tools=[ADD])
    assert compile_request(plain) is compile_request(
        ModelRequest(messages=[user_message("two")], tools=[ADD])
    )


def test_a_tool_with_nothing_to_quote_is_left_out_of_the_decision() -> None:
    """An empty request: write_note cannot be called in this decision, the others still can."""
    compiled = compile_decision([NOTE, ADD], quote_source="")
    assert "write_note" not in compiled.lark and "add" in compiled.lark
    check_decision_engine(compiled, [NOTE, ADD], None, "xgrammar", quote_source="")


def test_the_refusal_branch_is_offered_only_on_request() -> None:
    """With a refusal text the envelope has a third branch `{"reasoning", "refuse": true}`; parsing it gives the
    fixed text as the answer."""
    schema = decision_schema([ADD], refusal="No.")
    assert len(schema["anyOf"]) == 3 and schema["anyOf"][2]["properties"]["refuse"] == {"const": True}
    assert len(decision_schema([ADD])["anyOf"]) == 2
    compiled = compile_decision([ADD], refusal="No.")
    assert '"refuse' in compiled.lark or "refuse" in compiled.lark
    decision = parse_decision(json.dumps({"reasoning": "r", "refuse": True}), 3, "No.")
    assert decision.final_answer == "No." and decision.is_final


@pytest.mark.parametrize("engine", ["llguidance", "xgrammar", "outlines_core"])
def test_every_engine_supports_a_bound_envelope(engine: str) -> None:
    """An envelope with a quoted argument (a request with quotes and non-ASCII text) and a refusal is enforced
    by every engine; the bundled tools' whole envelope by the two whose forms are not size-limited (the regex
    form of outlines_core outgrows its limit on the reasoning string there, quotes or not)."""
    from agentflow.toolkit import DEFAULT_TOOLS

    text = 'Note that "the boiler" was serviced on Monday, café ☕'
    small = ModelRequest(messages=[user_message(text)], tools=[NOTE], refusal="Sorry.")
    check_decision_engine(compile_request(small), [NOTE], None, engine, quote_source=text)
    if engine != "outlines_core":
        tools = [t.spec for t in DEFAULT_TOOLS]
        request = ModelRequest(messages=[user_message(text)], tools=tools, refusal="Sorry.")
        check_decision_engine(compile_request(request), tools, None, engine, quote_source=text)
