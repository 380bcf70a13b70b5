"""The HTTP service example (examples/service/app.py) over real HTTP on loopback: two service processes on one
PostgreSQL database — a run started on one is approved and resumed on the other; events as resumable
server-sent events; a client that disconnects does not stop a run; cancel; threads with a double-texting
policy."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from crash_harness import GRAPH, call, final

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """One `uvicorn` process serving the example app on loopback."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "app:create_app",
                "--app-dir",
                str(REPO / "examples" / "service"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while True:  # ready once it answers (a state), polled
            assert self.proc.poll() is None, self.proc.communicate()[1]
            try:
                if httpx.get(f"{self.url}/runs/nothing", timeout=2).status_code == 404:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=30)

    def events(self, run_id: str, last: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Read the run's event stream (from after `last`) to its end, or `limit` events then disconnect."""
        headers = {"Last-Event-ID": str(last)} if last is not None else {}
        out: list[dict[str, Any]] = []
        with httpx.stream("GET", f"{self.url}/runs/{run_id}/events", headers=headers, timeout=60) as response:
            assert response.status_code == 200
            event: dict[str, Any] = {}
            for line in response.iter_lines():
                if not line:
                    if event:
                        out.append(event)
                        event = {}
                        if limit is not None and len(out) >= limit:
                            break
                    continue
                field, _, value = line.partition(": ")
                event[field] = (
                    int(value) if field == "id" else json.loads(value) if field == "data" else value
                )
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


@pytest.fixture
def env(tmp_path: Path, pg_url: str) -> dict[str, str]:
    graph = tmp_path / "service_graph.py"
    graph.write_text(GRAPH)
    (tmp_path / "counts").mkdir()
    return {
        **os.environ,
        "AGENTFLOW_DB": pg_url,
        "AGENTFLOW_SERVICE_GRAPHS": str(graph),
        "AGENTFLOW_LEASE_TTL_S": "1",
        "AF_COUNT_DIR": str(tmp_path / "counts"),
        "AF_GATE": str(tmp_path / "no-gate"),
        "AF_TOOL_SECONDS": "0.1",  # tools take a moment: a cancel has a run in progress to stop
        "GRAPH": str(graph),
    }


@pytest.fixture
def services(env: dict[str, str]) -> Iterator[list[Service]]:
    started: list[Service] = []
    try:
        started += [Service(env), Service(env)]
        yield started
    finally:
        for service in started:
            service.stop()


def script(tmp: Path, name: str, *decisions: dict[str, Any]) -> str:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(list(decisions)))
    return f"scripted:{path}"


def count(env: dict[str, str], tool: str) -> int:
    path = Path(env["AF_COUNT_DIR"]) / tool
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_status(service: Service, run_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while (result := service.get(f"/runs/{run_id}").json())["status"] not in statuses:
        assert time.monotonic() < deadline, result
        time.sleep(0.1)  # polling a state over HTTP
    return result


def test_a_run_started_on_one_replica_is_approved_and_resumed_on_the_other(
    services: list[Service], env: dict[str, str], tmp_path: Path
) -> None:
    """POST a run to A; it pauses for approval; A goes away; the approval POSTed to B resumes it there, and B's
    event stream, resumed from the last event A sent, carries it to the end."""
    a, b = services
    model = script(tmp_path, "deploy", call("deploy", version="v1"), final("deployed v1"))
    posted = a.post("/runs", {"graph": env["GRAPH"], "input": "deploy v1", "model": model})
    assert posted.status_code == 201 and posted.json()["status"] == "queued"
    run_id = posted.json()["run_id"]
    seen = a.events(run_id)  # ends once the run pauses
    assert seen[0]["event"] == "run_started" and seen[-1]["data"]["status"] == "awaiting_approval"
    paused = a.get(f"/runs/{run_id}").json()
    assert paused["status"] == "awaiting_approval" and [p["tool"] for p in paused["pending"]] == ["deploy"]
    a.stop()
    decided = b.post(f"/runs/{run_id}/decisions", [{"action": "approve"}])
    assert decided.status_code == 202 and decided.json()["status"] == "queued"
    rest = b.events(run_id, last=seen[-1]["id"])
    assert rest[0]["id"] == seen[-1]["id"] + 1 and rest[-1]["data"]["status"] == "succeeded"
    assert {"run_resumed", "tool_called"} <= {e["event"] for e in rest}
    result = b.get(f"/runs/{run_id}").json()
    assert result["status"] == "succeeded" and result["output"] == "deployed v1" and count(env, "deploy") == 1
    history = b.get(f"/runs/{run_id}/history").json()
    assert len(history) >= 3 and history[0]["number"] == 0
    assert b.post(f"/runs/{run_id}/decisions", [{"action": "approve"}]).status_code == 409


def test_a_disconnected_client_does_not_stop_the_run_and_the_stream_resumes(
    services: list[Service], env: dict[str, str], tmp_path: Path
) -> None:
    """A client reads two events and disconnects: the run still finishes; reconnecting with Last-Event-ID
    sends exactly the events after it."""
    a, _ = services
    model = script(tmp_path, "sync", call("sync", value=1), call("sync", value=2), final("synced"))
    run_id = a.post("/runs", {"graph": env["GRAPH"], "input": "sync", "model": model}).json()["run_id"]
    first = a.events(run_id, limit=2)
    assert [e["id"] for e in first] == [1, 2]
    assert wait_status(a, run_id, {"succeeded", "failed"})["output"] == "synced"
    rest = a.events(run_id, last=2)
    everything = a.events(run_id)
    assert [e["id"] for e in rest] == [e["id"] for e in everything][2:] and rest[-1][
        "event"
    ] == "run_finished"
    assert a.get("/runs/nope").status_code == 404


def test_cancel_over_http_stops_a_running_run(
    services: list[Service], env: dict[str, str], tmp_path: Path
) -> None:
    """POST cancel to either replica stops a run wherever it executes: it ends `cancelled`, no more calls."""
    a, b = services
    model = script(tmp_path, "many", *[call("sync", value=i) for i in range(200)], final("never"))
    run_id = a.post("/runs", {"graph": env["GRAPH"], "input": "many", "model": model}).json()["run_id"]
    deadline = time.monotonic() + 60
    while count(env, "sync") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)  # polling a state (the tool's side effects)
    assert b.post(f"/runs/{run_id}/cancel", {}).status_code == 202
    assert (
        wait_status(a, run_id, {"cancelled", "succeeded", "failed", "budget_exhausted"})["status"]
        == "cancelled"
    )
    assert count(env, "sync") < 200


def test_threads_over_http(services: list[Service], env: dict[str, str], tmp_path: Path) -> None:
    """A second input on a busy thread is refused (409) under `reject`; under `interrupt` the busy run is
    cancelled and the new one continues its conversation."""
    a, b = services
    model = script(tmp_path, "thread", call("deploy", version="v1"), final("second answer"))
    answer = script(tmp_path, "answer", final("second answer"))
    first = a.post("/threads/t1/runs", {"graph": env["GRAPH"], "input": "deploy v1", "model": model}).json()
    wait_status(a, first["run_id"], {"awaiting_approval"})
    refused = b.post("/threads/t1/runs", {"graph": env["GRAPH"], "input": "again", "model": model})
    assert refused.status_code == 409 and refused.json()["error"]["type"] == "ThreadBusyError"
    second = b.post(
        "/threads/t1/runs",
        {"graph": env["GRAPH"], "input": "never mind", "model": answer, "on_busy": "interrupt"},
    ).json()
    assert a.get(f"/runs/{first['run_id']}").json()["status"] == "cancelled"
    done = wait_status(b, second["run_id"], {"succeeded", "failed", "awaiting_approval"})
    assert done["output"] == "second answer" and count(env, "deploy") == 0
    [asked] = [e["data"] for e in b.events(second["run_id"]) if e["event"] == "model_called"]
    said = [m["content"] for m in asked["messages"] if m["role"] == "user"]
    assert said == ["deploy v1", "never mind"]  # the interrupted run's conversation, then the new input
