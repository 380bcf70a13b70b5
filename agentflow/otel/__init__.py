"""OpenTelemetry export of runs, following the GenAI semantic conventions (`invoke_agent`, `chat`,
`execute_tool` spans): live while a run executes (`OtelSink`, `live_sink`) and for recorded runs
(`export_run`). Needs the `otel` extra; nothing here imports OpenTelemetry until an export is made."""

from agentflow.otel.export import export_run, otlp_json, recorded_spans
from agentflow.otel.sink import OtelSink, live_sink, tee

__all__ = ["OtelSink", "export_run", "live_sink", "otlp_json", "recorded_spans", "tee"]
