"""The span tree derived from a run's events: runs, agent activations, model and tool calls, times."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflow.events import ModelCalled, RunFinished, RunStarted, StepStarted, ToolCalled
from agentflow.store import RunStore
from agentflow.timeline import SpanBuilder, decision_key, epoch, spans_of_trace

from trace_runs import record_approval, record_plan_execute, record_tool_error

pytestmark = pytest.mark.anyio


def spans_of(db: Path, run_id: str) -> list:
    store = RunStore(db)
    record = store.get_run(run_id)
    return spans_of_trace(record.id, record.graph, store.events(record.id))


async def test_plan_execute_nests_calls_under_agents_under_the_run(db_path: Path) -> None:
    """Every model and tool call sits under its agent's activation, every activation under the one run span."""
    spans = spans_of(db_path, await record_plan_execute(db_path))
    keys = {s.key: s for s in spans}
    (run,) = [s for s in spans if s.kind == "run"]
    assert run.parent is None and run.name == "plan_execute"
    agents = [s for s in spans if s.kind == "agent"]
    assert all(a.parent == run.key for a in agents)
    assert sorted(a.key for a in agents) == [
        "agent/executor:s1/1",
        "agent/executor:s2/1",
        "agent/executor:s3/1",
        "agent/planner/1",
        "agent/planner/2",  # asked again after the first steps: a second activation
        "agent/writer/1",
    ]
    for leaf in (s for s in spans if s.kind in ("chat", "tool")):
        parent = keys[leaf.parent or ""]
        assert parent.kind == "agent" and parent.agent == leaf.agent
        assert parent.start <= leaf.start and leaf.end is not None and parent.end is not None
        assert leaf.end <= parent.end + 1e-6
    tools = sorted((s.name, s.parent) for s in spans if s.kind == "tool")
    assert tools == [
        ("calculator", "agent/executor:s2/1"),
        ("calculator", "agent/executor:s3/1"),
        ("convert_units", "agent/executor:s1/1"),
    ]
    assert run.start <= min(s.start for s in spans) and run.end == max(s.end or 0 for s in spans)


async def test_failed_tool_call_is_an_error_span(db_path: Path) -> None:
    """A tool call that failed (invalid arguments) carries its error type; the next one does not."""
    spans = spans_of(db_path, await record_tool_error(db_path))
    tools = [s for s in spans if s.kind == "tool"]
    assert [s.error is not None for s in tools] == [True, False]
    assert [s.kind for s in spans if s.kind != "tool"].count("chat") == 3


async def test_pause_and_resume_make_two_run_spans(db_path: Path) -> None:
    """A run paused for approval and continued later is two executions; the decision is a mark on the second."""
    spans = spans_of(db_path, await record_approval(db_path))
    runs = [s for s in spans if s.kind == "run"]
    assert [r.key for r in runs] == ["run/1", "run/2"]
    assert [m.event.kind for m in runs[1].marks] == ["approval_decided", "run_resumed"]
    assert isinstance(runs[0].event, RunFinished) and runs[0].event.status == "awaiting_approval"
    assert runs[1].event is not None and runs[1].event.status == "succeeded"
    (tool,) = [s for s in spans if s.kind == "tool"]
    assert tool.parent is not None and tool.parent.startswith("agent/agent/") and runs[1].start <= tool.start


def test_live_feed_opens_spans_before_it_closes_them() -> None:
    """Fed event by event, the run and the agent open at once and close when the agent answers / the run ends
    (events without their own times, as an older trace holds them, are placed by when they were recorded)."""
    builder = SpanBuilder("r1")
    t = 1000.0
    opened = builder.feed(RunStarted(ts="", run_id="r1", graph="g", input="x", model=None), t)
    assert [(s.key, s.end) for s in opened] == [("run/1", None)]
    opened = builder.feed(StepStarted(ts="", run_id="r1", agent="agent", step=1), t + 1)
    assert [(s.key, s.parent, s.end) for s in opened] == [("agent/agent/1", "run/1", None)]
    call = {"name": "add", "arguments": {}, "id": "call_1_0"}
    model = ModelCalled(
        ts="", run_id="r1", agent="agent", step=1, model="m", messages=[], messages_from=0, raw_text="",
        decision={"tool_calls": [call]}, input_tokens=1, output_tokens=1, cost_usd=0.0, latency_s=0.5,
    )  # fmt: skip
    (chat,) = builder.feed(model, t + 2)
    assert (chat.kind, chat.start, chat.end, chat.parent) == ("chat", t + 1.5, t + 2, "agent/agent/1")
    tool = ToolCalled(
        ts="", run_id="r1", agent="agent", step=1, call_id="call_1_0", tool="add", arguments={}, content="3",
        is_error=False, error_type=None, result=3, attempts=1, latency_s=0.25,
    )  # fmt: skip
    assert decision_key(tool) == decision_key(model) == "agent/1"
    (tool_span,) = builder.feed(tool, t + 3)
    assert tool_span.start == t + 2.75 and tool_span.parent == "agent/agent/1"
    error = {"type": "ModelError", "message": "backend down"}
    closed = builder.feed(
        RunFinished(ts="", run_id="r1", status="failed", output=None, usage={}, error=error), t + 4
    )
    assert [(s.key, s.end) for s in closed] == [
        ("agent/agent/1", t + 3),
        ("run/1", t + 4),
    ]  # agent: last call
    assert closed[-1].error == "ModelError" and builder.open_spans == []


def test_events_are_placed_by_their_own_start_and_duration() -> None:
    """An event's `ts` (when the call began) and `duration_s` place its span, whenever it was recorded."""
    builder = SpanBuilder("r1")
    builder.feed(RunStarted(run_id="r1", graph="g", input="x", model=None, ts=_iso(1000.0)), 5000.0)
    tool = ToolCalled(
        run_id="r1", agent="agent", step=1, call_id="call_1_0", tool="add", arguments={}, content="3",
        is_error=False, error_type=None, result=3, attempts=1, latency_s=0.25, ts=_iso(1001.0), duration_s=0.25,
    )  # fmt: skip
    *_, span = builder.feed(tool, 9999.0)
    assert (span.kind, span.start, span.end) == ("tool", 1001.0, 1001.25)


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")


def test_epoch_reads_trace_timestamps() -> None:
    """Trace timestamps (ISO 8601 with offset) become seconds since the epoch."""
    assert epoch("1970-01-01T00:01:00.500000+00:00") == 60.5
