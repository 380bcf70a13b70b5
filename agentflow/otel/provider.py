"""Setting OpenTelemetry up for an export: the optional extra's presence, OTLP/HTTP endpoints, and a tracer
provider whose root spans take their trace id from the run id (every execution of a run, live or exported
later, lands in one trace)."""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any
from urllib.parse import urlsplit

from agentflow.exceptions import ConfigError

__all__ = ["RunIds", "endpoint_from_env", "require_otel", "run_provider", "run_trace_id", "traces_url"]

_EXTRA_HINT = "OpenTelemetry export needs the 'otel' extra: pip install 'agentflow[otel]'"


def require_otel() -> None:
    """Raise `ConfigError` naming the extra to install when the OpenTelemetry SDK or exporter is missing."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"{_EXTRA_HINT} ({exc.name} is not installed)") from None


def traces_url(url: str) -> str:
    """The OTLP/HTTP traces URL for `url`: a collector's base URL (`http://host:4318`) gets `/v1/traces`
    appended; a URL with a path is used as it is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--otlp must be an http:// or https:// URL of an OTLP/HTTP receiver (got {url!r})")
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError:
        raise ConfigError(f"--otlp: {url!r} has an invalid port") from None
    return url if parts.path not in ("", "/") else url.rstrip("/") + "/v1/traces"


def endpoint_from_env() -> str | None:
    """The endpoint OpenTelemetry's own variables name, if any (the exporter reads them itself)."""
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def run_trace_id(run_id: str) -> int:
    """The trace id of a run's own trace (when it is not nested under a caller's span)."""
    return int.from_bytes(hashlib.sha256(f"agentflow-run:{run_id}".encode()).digest()[:16], "big") or 1


class RunIds:
    """Span ids at random; the trace id of a root span from the run being exported (`run_id`, set by the
    exporter before it starts that run's spans)."""

    def __init__(self, run_id: str = "") -> None:
        self.run_id = run_id

    def generate_trace_id(self) -> int:
        return run_trace_id(self.run_id)

    def generate_span_id(self) -> int:
        return random.getrandbits(64) or 1


def run_provider(processor: Any, ids: RunIds) -> Any:
    """A `TracerProvider` for runs' spans, sending them through `processor`, root trace ids from `ids`."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class Ids(IdGenerator):
        def generate_trace_id(self) -> int:
            return ids.generate_trace_id()

        def generate_span_id(self) -> int:
            return ids.generate_span_id()

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "agentflow"}
    provider = TracerProvider(resource=Resource.create(attributes), id_generator=Ids())
    provider.add_span_processor(processor)
    return provider
