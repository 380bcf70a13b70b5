"""Timeline spans -> OpenTelemetry spans on a tracer, with the trace's own timestamps. Imports OpenTelemetry:
loaded only when an export is on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import context as otel_context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentflow.otel.attributes import SpanShaper
from agentflow.timeline import Span

__all__ = ["SpanEmitter"]

_KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class SpanEmitter:
    """Starts an OpenTelemetry span when a timeline span opens and ends it (with its final attributes) when
    it finishes. A run span's parent is `parent` if given, else whatever span is current where the run span
    opens: the caller's, when agentflow runs inside an instrumented service."""

    def __init__(
        self, tracer: Any, shaper: SpanShaper, *, parent: otel_context.Context | None = None
    ) -> None:
        self.tracer = tracer
        self.shaper = shaper
        self.parent = parent
        self._open: dict[str, Any] = {}

    def emit(self, spans: Iterable[Span]) -> None:
        for span in spans:
            if span.end is None:
                self._open[span.key] = self._start(span)
            else:
                self._finish(span)

    def _context(self, span: Span) -> otel_context.Context:
        owner = self._open.get(span.parent) if span.parent else None
        if owner is not None:
            return trace.set_span_in_context(owner)
        return self.parent if self.parent is not None else otel_context.get_current()

    def _start(self, span: Span) -> Any:
        shape = self.shaper.shape(span) if span.kind in ("run", "agent") else None
        name = shape.name if shape else span.name
        return self.tracer.start_span(
            name,
            context=self._context(span),
            kind=_KINDS[shape.kind] if shape else SpanKind.INTERNAL,
            attributes=shape.attributes if shape else None,
            start_time=_ns(span.start),
        )

    def _finish(self, span: Span) -> None:
        shape = self.shaper.shape(span)
        otel = self._open.pop(span.key, None)
        if otel is None:
            otel = self.tracer.start_span(
                shape.name, context=self._context(span), kind=_KINDS[shape.kind], start_time=_ns(span.start)
            )
        otel.set_attributes(shape.attributes)
        for name, at, attributes in shape.events:
            otel.add_event(name, attributes, timestamp=_ns(at))
        if shape.error:
            otel.set_status(Status(StatusCode.ERROR, shape.error_message or shape.error))
        otel.end(end_time=_ns(span.end if span.end is not None else span.start))
