"""Live export while a run executes: spans as events arrive, nested under a caller's span when embedded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow.events import Event, RunStarted, StepStarted
from agentflow.exceptions import ConfigError
from agentflow.otel import OtelSink, export_run, live_sink, tee
from agentflow.otel.provider import require_otel, run_trace_id
from agentflow.store import RunStore

from otlp_receiver import Receiver, attrs
from trace_runs import PLAN_SCRIPT, record_plan_execute

pytestmark = pytest.mark.anyio


def tree(spans: list[Any]) -> list[tuple[str, str]]:
    names = {s.span_id: s.name for s in spans}
    return sorted((names.get(s.parent_span_id, ""), s.name) for s in spans)


async def test_live_spans_match_the_export_of_the_same_run(db_path: Path, receiver: Receiver) -> None:
    """Spans sent live during a plan-and-execute run have the nesting and trace id a later export has."""
    sink = OtelSink(receiver.url)
    result = await agentflow.run(
        "plan_execute", "Convert 5 km to miles and add 17 * 23", model=PLAN_SCRIPT, db=db_path, on_event=sink
    )
    await sink.aclose()
    live = receiver.spans()
    assert len(live) == 19 and {s.trace_id for s in live} == {run_trace_id(result.run_id).to_bytes(16, "big")}
    (run,) = [s for s in live if not s.parent_span_id]
    assert (
        attrs(run)["agentflow.status"] == "succeeded"
        and attrs(run)["gen_ai.conversation.id"] == result.run_id
    )
    receiver.bodies.clear()
    export_run(RunStore(db_path), result.run_id, otlp=receiver.url)
    assert tree(live) == tree(receiver.spans())


async def test_spans_nest_under_the_callers_active_span(db_path: Path, receiver: Receiver) -> None:
    """Embedded in an instrumented service, the run's span is a child of the span current when it starts."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")))
    with provider.get_tracer("my-service").start_as_current_span("POST /ask"):
        sink = OtelSink(tracer_provider=provider)
        await agentflow.run(
            "plan_execute",
            "Convert 5 km to miles and add 17 * 23",
            model=PLAN_SCRIPT,
            db=db_path,
            on_event=sink,
        )
        sink.close()  # the service's provider is not ours to shut down
    provider.shutdown()
    spans = receiver.spans()
    (request,) = [s for s in spans if s.name == "POST /ask"]
    (run,) = [s for s in spans if s.name == "invoke_agent plan_execute"]
    assert run.parent_span_id == request.span_id and not request.parent_span_id
    assert {s.trace_id for s in spans} == {request.trace_id}


async def test_environment_variable_turns_live_export_on(
    db_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OTEL_EXPORTER_OTLP_ENDPOINT set, `live_sink()` sends spans to that collector's /v1/traces."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    sink = live_sink()
    assert sink is not None
    await agentflow.run(
        "plan_execute", "Convert 5 km to miles and add 17 * 23", model=PLAN_SCRIPT, db=db_path, on_event=sink
    )
    await sink.aclose()
    assert set(receiver.paths) == {"/v1/traces"} and len(receiver.spans()) == 19


def test_closing_a_sink_ends_spans_left_open(receiver: Receiver) -> None:
    """A run cut short (the process stops listening mid-run) still exports its run and agent spans, ended."""
    sink = OtelSink(f"{receiver.url}/custom/path", graph="react")
    sink(RunStarted(run_id="r9", graph="react", input="x", model=None))
    sink(StepStarted(run_id="r9", agent="agent", step=1))
    sink.close()
    assert receiver.paths == ["/custom/path"]
    assert sorted(s.name for s in receiver.spans()) == ["invoke_agent agent", "invoke_agent react"]
    assert all(s.end_time_unix_nano >= s.start_time_unix_nano > 0 for s in receiver.spans())


def test_nothing_is_imported_when_export_is_off() -> None:
    """Without --otlp or OTEL_EXPORTER_OTLP_* there is no sink and OpenTelemetry is never imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    code = (
        "import sys, agentflow.otel as o; s = o.live_sink(); "
        "print(s, any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["None", "False"]


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the otel extra, export fails with a ConfigError that says what to install."""
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(ConfigError, match=r"pip install 'agentflow\[otel\]'"):
        require_otel()


async def test_tee_calls_every_handler_in_order() -> None:
    """`tee` passes each event to sync and async handlers alike, skipping None."""
    seen: list[str] = []

    async def first(event: Event) -> None:
        seen.append(f"async {event.kind}")

    handler = tee(first, None, lambda e: seen.append(f"sync {e.kind}"))
    await handler(StepStarted(run_id="r", agent="a", step=1))
    assert seen == ["async step_started", "sync step_started"]


async def test_records_are_unchanged_by_exporting(db_path: Path, receiver: Receiver) -> None:
    """Exporting reads the run; it writes nothing to the trace."""
    run_id = await record_plan_execute(db_path)
    before = RunStore(db_path).events(run_id)
    export_run(RunStore(db_path), run_id, otlp=receiver.url)
    assert RunStore(db_path).events(run_id) == before


async def test_a_failing_exporter_never_breaks_the_run(db_path: Path) -> None:
    """If emitting spans fails, the run still succeeds and the sink stops quietly."""

    class Broken:
        def get_tracer(self, name: str) -> Any:
            raise RuntimeError("collector library exploded")

        def shutdown(self) -> None:
            pass

    from structlog.testing import capture_logs

    sink = OtelSink(tracer_provider=Broken())
    with capture_logs() as logs:
        result = await agentflow.run(
            "plan_execute",
            "Convert 5 km to miles and add 17 * 23",
            model=PLAN_SCRIPT,
            db=db_path,
            on_event=sink,
        )
    sink.close()
    assert result.status == "succeeded"
    warnings = [entry for entry in logs if entry["event"] == "OpenTelemetry export stopped"]
    assert len(warnings) == 1 and "collector library exploded" in warnings[0]["error"]


async def test_one_sink_keeps_concurrent_runs_in_their_own_traces(db_path: Path, receiver: Receiver) -> None:
    """Two runs through one sink at once: each run's spans form its own trace, named after its run id."""
    import anyio

    sink = OtelSink(receiver.url)
    ids: list[str] = []

    async def one() -> None:
        result = await agentflow.run(
            "plan_execute",
            "Convert 5 km to miles and add 17 * 23",
            model=PLAN_SCRIPT,
            db=db_path,
            on_event=sink,
        )
        ids.append(result.run_id)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one)
        tg.start_soon(one)
    await sink.aclose()
    spans = receiver.spans()
    by_trace: dict[bytes, set[str]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, set()).add(attrs(s)["gen_ai.conversation.id"])
    assert by_trace == {run_trace_id(i).to_bytes(16, "big"): {i} for i in ids} and len(spans) == 38
