"""check_decision_output: the verdict every backend's output goes through, with keyword and JSON path."""

from __future__ import annotations

import json

from agentflow.models.base import ToolSpec
from agentflow.models.output_check import check_decision_output, retry_message

ADD = ToolSpec(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)


def decision(**fields: object) -> str:
    return json.dumps({"reasoning": "r", **fields})


def test_a_valid_tool_call_passes() -> None:
    check = check_decision_output(
        decision(tool_calls=[{"name": "add", "arguments": {"a": 1, "b": 2}}]), [ADD]
    )
    assert check.ok and check.data["tool_calls"][0]["arguments"] == {"a": 1, "b": 2}


def test_bad_arguments_name_the_keyword_and_the_path() -> None:
    check = check_decision_output(
        decision(tool_calls=[{"name": "add", "arguments": {"a": 1, "b": "two"}}]), [ADD]
    )
    assert not check.ok
    assert (check.error.keyword, check.error.path) == ("type", "$.tool_calls[0].arguments.b")
    assert "'type' at $.tool_calls[0].arguments.b" in retry_message(check.error)


def test_an_unknown_tool_is_named_with_the_known_ones() -> None:
    check = check_decision_output(decision(tool_calls=[{"name": "mul", "arguments": {}}]), [ADD])
    assert check.error is not None and check.error.path == "$.tool_calls[0].name"
    assert "'mul'" in check.error.message and "add" in check.error.message


def test_strict_json_refuses_duplicate_keys_and_nan() -> None:
    for text in [
        '{"reasoning": "r", "reasoning": "s", "final_answer": "x"}',
        '{"reasoning": "r", "final_answer": NaN}',
    ]:
        check = check_decision_output(text, [ADD])
        assert check.error is not None and check.error.keyword == "json", text


def test_the_final_answer_is_checked_against_the_final_schema() -> None:
    final = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]}
    assert check_decision_output(decision(final_answer={"n": 3}), [ADD], final).ok
    check = check_decision_output(decision(final_answer={"n": -1}), [ADD], final)
    assert check.error is not None and (check.error.keyword, check.error.path) == (
        "minimum",
        "$.final_answer.n",
    )


NOTE = ToolSpec(
    name="write_note",
    description="Save a note.",
    parameters={
        "type": "object",
        "properties": {"text": {"type": "string", "x-agentflow-quoted": "request"}},
        "required": ["text"],
        "additionalProperties": False,
    },
)


def test_quoted_arguments_are_checked_against_the_request() -> None:
    """A quoted argument must be a span of the request: a misquote fails with the keyword and its path."""
    request = "Save a note saying call the plumber"
    good = decision(tool_calls=[{"name": "write_note", "arguments": {"text": "call the plumber"}}])
    bad = decision(tool_calls=[{"name": "write_note", "arguments": {"text": "call the plumbr"}}])
    assert check_decision_output(good, [NOTE], quote_source=request).ok
    check = check_decision_output(bad, [NOTE], quote_source=request)
    assert check.error is not None
    assert (check.error.keyword, check.error.path) == ("x-agentflow-quoted", "$.tool_calls[0].arguments.text")
    assert "not copied verbatim from the request" in retry_message(check.error)


def test_a_refusal_is_a_decision_only_where_the_graph_offers_one() -> None:
    """`{"refuse": true}` validates (and parses to the fixed text) with a refusal, and is refused without."""
    from agentflow.models.decision_schema import decision_from_data

    text = decision(refuse=True)
    assert check_decision_output(text, [ADD], refusal="Sorry, no.").ok
    assert decision_from_data(json.loads(text), 1, "Sorry, no.").final_answer == "Sorry, no."
    assert not check_decision_output(text, [ADD]).ok
    assert not check_decision_output(decision(refuse=False), [ADD], refusal="Sorry, no.").ok
