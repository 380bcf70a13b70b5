"""Exporting a recorded run to OpenTelemetry: to an OTLP/HTTP receiver, or to a file in OTLP JSON (one
`ExportTraceServiceRequest` per line, as the Collector's `otlpjsonfile` receiver reads). Timestamps, nesting
and attributes come from the trace, through the same span derivation as the live sink."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from agentflow.exceptions import ConfigError, StoreError
from agentflow.otel.provider import RunIds, require_otel, run_provider, traces_url

__all__ = ["export_run", "otlp_json", "recorded_spans"]


def recorded_spans(store: Any, run_id: str, *, include_content: bool = False) -> list[Any]:
    """The run's spans as OpenTelemetry `ReadableSpan`s, built from its trace (`store`: a `RunStore`)."""
    require_otel()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentflow.events import from_trace
    from agentflow.otel.attributes import SpanShaper
    from agentflow.otel.emit import SpanEmitter
    from agentflow.timeline import SpanBuilder, epoch

    record = store.get_run(run_id)
    collected = InMemorySpanExporter()
    provider = run_provider(SimpleSpanProcessor(collected), RunIds(record.id))
    from opentelemetry.context import Context

    emitter = SpanEmitter(
        provider.get_tracer("agentflow"),
        SpanShaper(record.id, include_content=include_content),
        parent=Context(),  # a past run is its own trace, whatever is current here
    )
    builder = SpanBuilder(record.id, graph=record.graph)
    for row in store.events(record.id):
        event = from_trace(row.kind, record.id, row.data)
        if event is not None:
            emitter.emit(builder.feed(event, epoch(row.ts)))
    emitter.emit(builder.finish())
    provider.shutdown()
    return list(collected.get_finished_spans())


def _hex_ids(value: Any) -> Any:
    """OTLP JSON writes trace and span ids as hex, where protobuf's JSON mapping writes base64."""
    if isinstance(value, dict):
        return {
            k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else _hex_ids(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def otlp_json(spans: list[Any]) -> dict[str, Any]:
    """`spans` as one OTLP JSON `ExportTraceServiceRequest` (enums as numbers, ids as hex)."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return dict(_hex_ids(MessageToDict(encode_spans(spans), use_integers_for_enums=True)))


def export_run(
    store: Any,
    run_id: str,
    *,
    otlp: str | None = None,
    file: Path | None = None,
    include_content: bool = False,
) -> int:
    """Send run `run_id`'s spans to the OTLP/HTTP receiver at `otlp`, or write them to `file` as OTLP JSON;
    return how many spans. Message contents are left out unless `include_content`."""
    if (otlp is None) == (file is None):
        raise ConfigError("give exactly one of --otlp URL and --file PATH")
    url = traces_url(otlp) if otlp else None
    spans = recorded_spans(store, run_id, include_content=include_content)
    if file is not None:
        try:
            file.write_text(json.dumps(otlp_json(spans), ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"cannot write {file}: {exc.strerror}") from None
        return len(spans)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = OTLPSpanExporter(endpoint=url)
    try:
        result = exporter.export(spans)
    finally:
        exporter.shutdown()
    if result is not SpanExportResult.SUCCESS:
        raise ConfigError(
            f"the OTLP receiver at {url} did not accept the spans (is a collector listening there? "
            "the exporter's log above says why)"
        )
    return len(spans)
