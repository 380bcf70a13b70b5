"""`OtelSink`: a run's spans sent to OpenTelemetry live, as its events happen (an `on_event` handler).

    sink = live_sink("http://127.0.0.1:4318")        # or None when neither --otlp nor OTEL_EXPORTER_OTLP_* is set
    result = await runner.run(graph, request, on_event=tee(view, sink))
    await sink.aclose()                                 # ends what is open, flushes the exporter

Without an endpoint and a provider, an `OtelSink` uses the global tracer provider: in a service that has set
OpenTelemetry up, the run's spans join the service's pipeline and nest under the span current where the run
starts. OpenTelemetry is imported only when a sink is made.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from agentflow.events import Event
from agentflow.otel.provider import RunIds, endpoint_from_env, require_otel, run_provider, traces_url

__all__ = ["OtelSink", "live_sink", "tee"]

Handler = Callable[[Event], Awaitable[None] | None]


class OtelSink:
    """Emits spans (run, agents, model calls, tool calls) as events arrive; call it with each event.

    `endpoint`: an OTLP/HTTP receiver (a collector's base URL gets `/v1/traces`); `tracer_provider`: one of
    yours; neither: the global provider (a service's own OpenTelemetry set-up). `graph` names the run span
    when the sink first sees a run resume rather than start. Message contents are left out unless
    `include_content`. Timestamps are the events' arrival times (model and tool calls start `latency_s`
    earlier).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        include_content: bool = False,
        tracer_provider: Any = None,
        graph: str = "",
        from_env: bool = False,
    ) -> None:
        require_otel()
        self.endpoint = traces_url(endpoint) if endpoint else None
        self.include_content = include_content
        self.graph = graph
        self._provider = tracer_provider
        self._owned = tracer_provider is None and (self.endpoint is not None or from_env)
        self._runs: dict[str, tuple[Any, Any]] = {}  # run id -> (SpanBuilder, SpanEmitter)
        self._ids = RunIds()
        self._failed = False

    def _for_run(self, run_id: str) -> tuple[Any, Any]:
        found = self._runs.get(run_id)
        if found is not None:
            return found
        from opentelemetry import trace

        from agentflow.otel.attributes import SpanShaper
        from agentflow.otel.emit import SpanEmitter
        from agentflow.timeline import SpanBuilder

        if self._owned and self._provider is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            exporter = OTLPSpanExporter(endpoint=self.endpoint)
            self._provider = run_provider(BatchSpanProcessor(exporter), self._ids)
        provider = self._provider or trace.get_tracer_provider()
        tracer = provider.get_tracer("agentflow")
        found = (
            SpanBuilder(run_id, graph=self.graph),
            SpanEmitter(tracer, SpanShaper(run_id, include_content=self.include_content)),
        )
        self._runs[run_id] = found
        return found

    def __call__(self, event: Event) -> None:
        """Emit what `event` opens or finishes. Telemetry never breaks a run: a failure here is logged once
        and the sink goes quiet."""
        if self._failed:
            return
        try:
            builder, emitter = self._for_run(event.run_id)
            self._ids.run_id = event.run_id  # a root span started now belongs to this run's trace
            emitter.emit(builder.feed(event, time.time()))
        except Exception as exc:
            self._failed = True
            structlog.get_logger("agentflow.otel").warning(
                "OpenTelemetry export stopped", run_id=event.run_id, error=f"{type(exc).__name__}: {exc}"
            )

    def close(self) -> None:
        """End the spans still open (a run cut short) and, if this sink made its own exporter, flush it."""
        for run_id, (builder, emitter) in self._runs.items():
            if not self._failed:
                self._ids.run_id = run_id
                emitter.emit(builder.finish())
        self._runs.clear()
        if self._owned and self._provider is not None:
            self._provider.shutdown()
            self._provider = None

    async def aclose(self) -> None:
        """`close()` off the event loop (flushing may wait on the network)."""
        import anyio

        await anyio.to_thread.run_sync(self.close)

    def __enter__(self) -> OtelSink:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def live_sink(otlp: str | None = None, *, include_content: bool = False, graph: str = "") -> OtelSink | None:
    """The sink `agentflow run --otlp URL` attaches: for `otlp`, else for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    / `OTEL_EXPORTER_OTLP_ENDPOINT`; None (and no OpenTelemetry import) when neither is set."""
    if otlp:
        return OtelSink(otlp, include_content=include_content, graph=graph)
    if endpoint_from_env():
        return OtelSink(include_content=include_content, graph=graph, from_env=True)
    return None


def tee(*handlers: Handler | None) -> Handler:
    """One `on_event` handler calling each given one in turn (None entries are skipped)."""
    chosen = [h for h in handlers if h is not None]

    async def handler(event: Event) -> None:
        for h in chosen:
            result = h(event)
            if inspect.isawaitable(result):
                await result

    return handler
