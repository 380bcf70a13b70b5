"""Serving the view: loopback only, a fresh page per request, 404 elsewhere."""

from __future__ import annotations

import threading

import httpx

from agentflow.viewer.serve import make_server


def test_serves_a_fresh_page_on_loopback_only() -> None:
    """The server binds 127.0.0.1, renders on every GET / and answers 404 for any other path."""
    renders: list[int] = []

    def page() -> str:
        renders.append(1)
        return f"<p>render {len(renders)}</p>"

    server = make_server(page, 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            first, second = client.get("/"), client.get("/index.html")
            assert (first.status_code, first.text) == (200, "<p>render 1</p>")
            assert second.text == "<p>render 2</p>" and first.headers["cache-control"] == "no-store"
            assert client.get("/../etc/passwd").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_failing_render_is_a_500_not_a_dead_server() -> None:
    """When rendering fails (say the run was deleted), the request gets a 500 naming the error; the next works."""
    calls: list[int] = []

    def page() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return "ok"

    server = make_server(page, 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        failed = httpx.get(url)
        assert failed.status_code == 500 and "database is locked" in failed.text
        assert httpx.get(url).text == "ok"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
