"""A real OTLP/HTTP receiver on loopback for the OpenTelemetry tests: a small HTTP server decoding
`ExportTraceServiceRequest` protobufs posted to /v1/traces, as a collector would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass
class Receiver:
    url: str  # base URL, like a collector's http://host:4318
    bodies: list[bytes] = field(default_factory=list)  # raw payloads, as sent
    paths: list[str] = field(default_factory=list)
    status: int = 200  # what to answer

    def spans(self) -> list[Any]:
        """Every span received, decoded, with its resource and scope flattened away."""
        out = []
        for body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    out.extend(scope.spans)
        return out

    def resources(self) -> list[dict[str, Any]]:
        out = []
        for body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            out += [
                {a.key: a.value.string_value for a in r.resource.attributes} for r in request.resource_spans
            ]
        return out


def attrs(span: Any) -> dict[str, Any]:
    """A received span's attributes as plain values."""
    out: dict[str, Any] = {}
    for a in span.attributes:
        v = a.value
        kind = v.WhichOneof("value")
        out[a.key] = (
            [x.string_value for x in v.array_value.values] if kind == "array_value" else getattr(v, kind)
        )
    return out


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (any free port) until the block ends."""
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            rec.paths.append(self.path)
            if rec.status != 200:
                self.send_response(rec.status)
                self.end_headers()
                return
            rec.bodies.append(body)
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
