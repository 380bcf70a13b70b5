"""Serving a run's view on loopback only: every request renders the page afresh from the database, so
reloading shows a run that is still going further along."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["make_server", "serve"]

HOST = "127.0.0.1"


def make_server(page: Callable[[], str], port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:`port` (0: any free port) answering `GET /` with `page()`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/", "/index.html"):
                self.send_error(404, "only / is served")
                return
            try:
                body = page().encode("utf-8")
                status = 200
            except Exception as exc:  # a run deleted meanwhile, a locked database: say so, keep serving
                body = f"could not render the run: {type(exc).__name__}: {exc}".encode()
                status = 500
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the command prints the URL once
            pass

    return ThreadingHTTPServer((HOST, port), Handler)


def serve(page: Callable[[], str], port: int = 0, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve `page()` at http://127.0.0.1:PORT/ until interrupted (Ctrl-C); `on_ready(url)` once listening."""
    server = make_server(page, port)
    try:
        if on_ready is not None:
            on_ready(f"http://{HOST}:{server.server_address[1]}/")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
