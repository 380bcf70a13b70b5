"""Exporting a recorded run: spans received by a real OTLP/HTTP receiver, or written as OTLP JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentflow.exceptions import ConfigError
from agentflow.otel import export_run
from agentflow.otel.provider import run_trace_id
from agentflow.store import RunStore
from agentflow.timeline import epoch

from otlp_receiver import Receiver, attrs
from trace_runs import NEEDLE, SECRET, record_approval, record_plan_execute, record_tool_error

pytestmark = pytest.mark.anyio


def tree(spans: list[Any]) -> dict[str, list[str]]:
    """parent span name -> sorted child span names ('' for roots)."""
    names = {s.span_id: s.name for s in spans}
    out: dict[str, list[str]] = {}
    for s in spans:
        out.setdefault(names.get(s.parent_span_id, ""), []).append(s.name)
    return {k: sorted(v) for k, v in out.items()}


async def test_plan_execute_spans_reach_the_receiver_nested_as_the_run(
    db_path: Path, receiver: Receiver
) -> None:
    """run -> agents -> chat / execute_tool, with GenAI names and attributes, timestamps from the trace."""
    run_id = await record_plan_execute(db_path)
    store = RunStore(db_path)
    count = export_run(store, run_id, otlp=receiver.url)
    spans = receiver.spans()
    assert receiver.paths == ["/v1/traces"] and len(spans) == count == 19
    assert {s.trace_id for s in spans} == {run_trace_id(run_id).to_bytes(16, "big")}
    shape = tree(spans)
    assert shape[""] == ["invoke_agent plan_execute"]
    assert shape["invoke_agent plan_execute"] == sorted(
        ["invoke_agent planner"] * 2
        + [
            "invoke_agent executor:s1",
            "invoke_agent executor:s2",
            "invoke_agent executor:s3",
            "invoke_agent writer",
        ]
    )
    assert shape["invoke_agent executor:s1"] == ["chat " + store.get_run(run_id).model] * 2 + [
        "execute_tool convert_units"
    ]
    (run,) = [s for s in spans if not s.parent_span_id]
    expected = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "plan_execute",
        "gen_ai.conversation.id": run_id,
        "agentflow.run_id": run_id,
        "agentflow.status": "succeeded",
    }
    assert {k: attrs(run).get(k) for k in expected} == expected
    usage = store.get_run(run_id).usage
    assert attrs(run)["gen_ai.usage.input_tokens"] == usage["input_tokens"] > 0
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert (
        len(chats) == 9
        and sum(attrs(c)["gen_ai.usage.output_tokens"] for c in chats) == usage["output_tokens"]
    )
    assert all(
        attrs(c)["gen_ai.operation.name"] == "chat" and attrs(c)["gen_ai.request.model"] for c in chats
    )
    assert all(c.kind == 3 for c in chats)  # SPAN_KIND_CLIENT
    tools = [s for s in spans if s.name.startswith("execute_tool ")]
    assert sorted((attrs(t)["gen_ai.tool.name"], attrs(t)["gen_ai.tool.call.id"]) for t in tools) == [
        ("calculator", "call_3_0"),
        ("calculator", "call_7_0"),
        ("convert_units", "call_2_0"),
    ]
    events = store.events(run_id)
    first, last = epoch(events[0].ts), epoch(events[-1].ts)
    assert run.start_time_unix_nano == pytest.approx(first * 1e9, abs=1e3)
    assert run.end_time_unix_nano == pytest.approx(last * 1e9, abs=1e3)
    assert all(
        run.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano <= run.end_time_unix_nano
        for s in spans
    )


async def test_contents_are_left_out_unless_asked_for(db_path: Path, receiver: Receiver) -> None:
    """Without --include-content no message, argument, observation or output reaches the wire; with it they do."""
    run_id = await record_tool_error(db_path)
    store = RunStore(db_path)
    export_run(store, run_id, otlp=receiver.url)
    plain = b"".join(receiver.bodies)
    for text in (SECRET, NEEDLE, "You look orders up.", "ships Friday"):
        assert text.encode() not in plain, text
    failed = [s for s in receiver.spans() if s.status.code == 2]  # STATUS_CODE_ERROR
    assert [s.name for s in failed] == ["execute_tool lookup_order"]
    assert (
        attrs(failed[0])["error.type"] == "invalid_arguments"
        and failed[0].status.message == "invalid_arguments"
    )
    receiver.bodies.clear()
    export_run(store, run_id, otlp=receiver.url, include_content=True)
    chats = [s for s in receiver.spans() if s.name.startswith("chat ")]
    first = json.loads(attrs(chats[0])["gen_ai.input.messages"])
    assert [m["role"] for m in first] == ["system", "user"] and SECRET in first[1]["parts"][0]["content"]
    third = json.loads(attrs(chats[2])["gen_ai.input.messages"])
    assert [m["role"] for m in third] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]  # rebuilt
    output = json.loads(attrs(chats[2])["gen_ai.output.messages"])
    assert output[0]["parts"][-1] == {"type": "text", "content": f"Order {NEEDLE} ships Friday."}
    tool = next(s for s in receiver.spans() if s.name == "execute_tool lookup_order" and s.status.code != 2)
    assert json.loads(attrs(tool)["gen_ai.tool.call.arguments"]) == {"order_id": NEEDLE}


async def test_paused_and_resumed_run_is_one_trace_with_the_decision_as_an_event(
    db_path: Path, receiver: Receiver
) -> None:
    """Two executions of one run are two root spans of one trace; the approval is an event on the second."""
    run_id = await record_approval(db_path)
    export_run(RunStore(db_path), run_id, otlp=receiver.url)
    roots = sorted(
        (s for s in receiver.spans() if not s.parent_span_id), key=lambda s: s.start_time_unix_nano
    )
    assert [attrs(r)["agentflow.status"] for r in roots] == ["awaiting_approval", "succeeded"]
    assert len({s.trace_id for s in receiver.spans()}) == 1
    assert [e.name for e in roots[1].events] == ["agentflow.approval", "agentflow.resumed"]
    assert {a.key: a.value.string_value for a in roots[1].events[0].attributes}[
        "agentflow.approval.action"
    ] == "approve"


async def test_file_export_is_otlp_json(db_path: Path, tmp_path: Path) -> None:
    """--file writes one OTLP JSON request: hex ids, numeric enums, the same spans and nesting."""
    run_id = await record_tool_error(db_path)
    out = tmp_path / "spans.json"
    count = export_run(RunStore(db_path), run_id, file=out)
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    request = json.loads(lines[0])
    spans = [s for r in request["resourceSpans"] for sc in r["scopeSpans"] for s in sc["spans"]]
    assert len(spans) == count == 7  # run, agent, 3 chats, 2 tools
    assert all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)
    ids = {s["spanId"] for s in spans}
    assert all(s.get("parentSpanId", "") in ids | {""} for s in spans)
    assert {s["kind"] for s in spans} == {1, 3}  # INTERNAL, CLIENT
    (root,) = [s for s in spans if not s.get("parentSpanId")]
    assert root["name"].startswith("invoke_agent ") and root["kind"] == 1
    assert int(root["startTimeUnixNano"]) <= min(int(s["startTimeUnixNano"]) for s in spans)


async def test_bad_targets_are_config_errors(db_path: Path, receiver: Receiver) -> None:
    """A URL that is not http(s), both or neither target, and a receiver refusing the spans: typed errors."""
    run_id = await record_tool_error(db_path)
    store = RunStore(db_path)
    with pytest.raises(ConfigError, match="http:// or https://"):
        export_run(store, run_id, otlp="localhost:4318")
    with pytest.raises(ConfigError, match="exactly one"):
        export_run(store, run_id)
    receiver.status = 400
    with pytest.raises(ConfigError, match="did not accept the spans"):
        export_run(store, run_id, otlp=receiver.url)
