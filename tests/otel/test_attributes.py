"""Span shapes: GenAI names and attributes per span kind, contents only on request."""

from __future__ import annotations

from agentflow.events import ModelCalled, ToolCalled
from agentflow.otel.attributes import SpanShaper, agent_name_of_graph
from agentflow.timeline import Span


def model_call(**kw: object) -> ModelCalled:
    base: dict = dict(
        run_id="r", agent="writer", step=4, model="openai:gpt-x@http://h", messages=[{"role": "user", "content": "hi"}],
        messages_from=0, raw_text="{}", decision={"reasoning": "r", "tool_calls": [], "final_answer": {"a": 1}},
        input_tokens=12, output_tokens=5, cost_usd=0.25, latency_s=0.1, settings={"temperature": 0.0, "seed": 7},
    )  # fmt: skip
    return ModelCalled(**(base | kw))  # type: ignore[arg-type]


def test_chat_span_has_model_usage_and_no_content_by_default() -> None:
    """A model call: `chat {model}`, its model, provider, tokens and settings; no messages unless asked."""
    span = Span(
        key="chat/4", kind="chat", name="m", parent="agent/writer/1", start=1.0, end=2.0, event=model_call()
    )
    shape = SpanShaper("r").shape(span)
    assert shape.name == "chat openai:gpt-x@http://h" and shape.kind == "client"
    assert shape.attributes["gen_ai.provider.name"] == "openai"
    assert (
        shape.attributes["gen_ai.usage.input_tokens"] == 12
        and shape.attributes["gen_ai.usage.output_tokens"] == 5
    )
    assert (
        shape.attributes["gen_ai.request.temperature"] == 0.0 and shape.attributes["gen_ai.request.seed"] == 7
    )
    assert shape.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert not any(k.endswith("messages") for k in shape.attributes)
    with_content = SpanShaper("r", include_content=True).shape(span).attributes
    assert (
        with_content["gen_ai.input.messages"] == '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
    )
    assert '"content":"{\\"a\\":1}"' in str(with_content["gen_ai.output.messages"])


def test_tool_span_error_and_content() -> None:
    """A failed tool call: `execute_tool {tool}` with error.type; arguments and result only with content."""
    event = ToolCalled(
        run_id="r", agent="a", step=1, call_id="call_1_0", tool="lookup", arguments={"k": "v"}, content="boom",
        is_error=True, error_type="timeout", result=None, attempts=2, latency_s=0.1,
    )  # fmt: skip
    span = Span(key="tool/call_1_0", kind="tool", name="lookup", parent=None, start=1.0, end=2.0, event=event)
    shape = SpanShaper("r").shape(span)
    assert (shape.name, shape.error, shape.error_message) == ("execute_tool lookup", "timeout", None)
    assert (
        shape.attributes["gen_ai.tool.call.id"] == "call_1_0"
        and "gen_ai.tool.call.arguments" not in shape.attributes
    )
    shaped = SpanShaper("r", include_content=True).shape(span)
    assert shaped.attributes["gen_ai.tool.call.arguments"] == '{"k":"v"}' and shaped.error_message == "boom"


def test_full_messages_are_rebuilt_per_agent() -> None:
    """Message deltas of interleaved agents are rebuilt per agent, as the trace's `full_messages` does."""
    shaper = SpanShaper("r", include_content=True)
    msgs = lambda s: s.attributes["gen_ai.input.messages"]  # noqa: E731
    a1 = model_call(agent="a", messages=[{"role": "user", "content": "A"}])
    b1 = model_call(agent="b", messages=[{"role": "user", "content": "B"}])
    a2 = model_call(
        agent="a", messages=[{"role": "tool", "content": "obs", "tool_call_id": "c"}], messages_from=1
    )
    shapes = [
        shaper.shape(Span(key=f"chat/{i}", kind="chat", name="m", parent=None, start=0, end=1, event=e))
        for i, e in enumerate((a1, b1, a2))
    ]
    assert (
        '"A"' in msgs(shapes[2]) and '"B"' not in msgs(shapes[2]) and "tool_call_response" in msgs(shapes[2])
    )


def test_graph_references_become_agent_names() -> None:
    """Bundled names stay; file references become the file's stem."""
    assert agent_name_of_graph("react") == "react"
    assert agent_name_of_graph("/work/x/review_gate.py") == "review_gate"
    assert agent_name_of_graph("graphs/mine.py:make") == "mine"
