"""agentflow behind HTTP: a FastAPI service whose replicas share one database (PostgreSQL, or SQLite on one
machine). Every replica runs a `Worker`, so a run posted to any replica is executed by whichever claims it, and
continues elsewhere if that replica dies.

    pip install 'agentflow[postgres,service]'
    AGENTFLOW_DB=postgresql://user@host/db uvicorn --factory app:create_app --app-dir examples/service --port 8000

    POST /runs                      {"graph": "react", "input": "...", "model": "scripted:..."} -> {"run_id", ...}
    POST /threads/{id}/runs         the same, continuing the thread's conversation; "on_busy": reject (409 while
                                    a run of the thread is in progress) | enqueue | interrupt | rollback
    GET  /runs/{id}                 the result (status, output, usage, pending calls, error)
    GET  /runs/{id}/events          server-sent events (id = the event's sequence number; reconnect with
                                    Last-Event-ID to resume); ends once the run is neither queued nor running
    POST /runs/{id}/decisions       [{"action": "approve" | "reject" | "answer", "call_id": ..., ...}]: once all
                                    pending calls are decided the run is queued again for a worker (202)
    POST /runs/{id}/cancel          stop the run (queued / paused: at once; running: at its next heartbeat,
                                    sub-agents and parallel steps included) (202)
    GET  /runs/{id}/history         its checkpoints

A client that disconnects from the event stream does not stop the run (runs execute in the workers, not in
requests). Settings come from the environment: AGENTFLOW_DB, AGENTFLOW_SERVICE_GRAPHS (the graphs clients may
run: comma-separated bundled names, files or module paths; default: the bundled graphs),
AGENTFLOW_SERVICE_CONCURRENCY (runs per replica, default 4), AGENTFLOW_LEASE_TTL_S (default 30).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

import agentflow

FINISHED = {"succeeded", "failed", "cancelled", "budget_exhausted", "awaiting_approval"}


class RunRequest(BaseModel):
    graph: str = "react"
    input: Any
    model: str | None = None
    on_busy: Literal["reject", "enqueue", "interrupt", "rollback"] = "reject"
    context: dict[str, Any] = Field(default_factory=dict)


class Decision(BaseModel):
    action: Literal["approve", "reject", "answer"]
    call_id: str | None = None
    arguments: dict[str, Any] | None = None
    message: str | None = None
    result: Any = None


def create_app(
    db: str | None = None, *, graphs: list[str] | None = None, concurrency: int | None = None
) -> FastAPI:
    db = db or os.environ.get("AGENTFLOW_DB")
    allowed = graphs or [g for g in os.environ.get("AGENTFLOW_SERVICE_GRAPHS", "").split(",") if g]
    workers = concurrency or int(os.environ.get("AGENTFLOW_SERVICE_CONCURRENCY", "4"))
    lease_ttl = float(os.environ.get("AGENTFLOW_LEASE_TTL_S", "30"))
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with agentflow.Runner(db, lease_ttl_s=lease_ttl) as runner, anyio.create_task_group() as tg:
            state["runner"] = runner
            stop = anyio.Event()
            tg.start_soon(lambda: agentflow.Worker(runner, concurrency=workers, poll_s=0.2).run(stop=stop))
            yield
            stop.set()  # finish the runs in progress, claim no more
            tg.cancel_scope.deadline = anyio.current_time() + 20

    app = FastAPI(title="agentflow service", lifespan=lifespan)

    def runner() -> agentflow.Runner:
        return state["runner"]

    @app.exception_handler(agentflow.AgentflowError)
    async def errors(request: Request, exc: agentflow.AgentflowError) -> JSONResponse:
        status = (
            404
            if isinstance(exc, agentflow.UnknownRunError)
            else 409
            if isinstance(exc, agentflow.RunBusyError)
            else 400
            if isinstance(exc, agentflow.UserError)
            else 500
        )
        return JSONResponse({"error": {"type": type(exc).__name__, "message": str(exc)}}, status_code=status)

    async def start(body: RunRequest, thread: str | None) -> dict[str, Any]:
        if allowed and body.graph not in allowed:
            raise HTTPException(
                400, f"graph {body.graph!r} is not offered here (offered: {', '.join(allowed)})"
            )
        run_id = await runner().enqueue(
            body.graph,
            body.input,
            model=body.model,
            context=body.context,
            thread=thread,
            on_busy=body.on_busy,
        )
        return (await runner().result_of(run_id)).to_json()

    @app.post("/runs", status_code=201)
    async def post_run(body: RunRequest) -> dict[str, Any]:
        return await start(body, None)

    @app.post("/threads/{thread_id}/runs", status_code=201)
    async def post_thread_run(thread_id: str, body: RunRequest) -> dict[str, Any]:
        return {**await start(body, thread_id), "thread_id": thread_id}

    @app.get("/runs/{run_id}")
    async def get_run(run_id: str) -> dict[str, Any]:
        return (await runner().result_of(run_id)).to_json()

    @app.get("/runs/{run_id}/events")
    async def get_events(run_id: str, last_event_id: str | None = Header(default=None)) -> StreamingResponse:
        storage = runner().storage
        await storage.get_run(run_id)  # 404 before the stream starts

        async def stream() -> AsyncIterator[str]:
            after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
            while True:
                status = (await storage.get_run(run_id)).status
                for event in await storage.events(run_id, after=after):
                    after = event.seq
                    yield f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event.data, default=str)}\n\n"
                if status in FINISHED:  # everything it wrote before stopping has been sent
                    return
                await anyio.sleep(0.2)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.post("/runs/{run_id}/decisions", status_code=202)
    async def post_decisions(run_id: str, decisions: list[Decision]) -> dict[str, Any]:
        given = [agentflow.HumanDecision(**d.model_dump(exclude_none=True)) for d in decisions]
        return (await runner().decide(run_id, given, queue=True)).to_json()

    @app.post("/runs/{run_id}/cancel", status_code=202)
    async def post_cancel(run_id: str) -> dict[str, Any]:
        return (await runner().cancel(run_id)).to_json()

    @app.get("/runs/{run_id}/history")
    async def get_history(run_id: str) -> list[dict[str, Any]]:
        return [c.as_dict() for c in await runner().history(run_id)]

    return app
