"""`write_note` and `search_notes`: a small notebook kept in the run database, shared across runs.

Both quote the request (`agentflow.Quoted`): a note is saved in the user's own words, and a search uses words
the user wrote, so a model cannot misspell either. Notes are items of the run's document store (`RunContext.store`, namespace `("notes",)`): the text, the run
that wrote it and when. Search is full-text (every word of the query quoted, so quotes and FTS operators in
user text are just words; stemmed; ranked by relevance) and falls back to a plain substring match over recent
notes when full-text search finds nothing. An empty query lists the most recent notes.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field

from agentflow import Quoted, RunContext, ToolError, tool

__all__ = ["NAMESPACE", "search_notes", "write_note"]

NAMESPACE = ("notes",)
SUBSTRING_SCAN = 500  # recent notes a substring search looks through


def _store(ctx: RunContext | None) -> Any:
    if ctx is None or ctx.store is None:
        raise ToolError("notes need a run database; start the run with one (agentflow run ... --db PATH)")
    return ctx.store


def _note(item: Any) -> dict[str, Any]:
    return {"id": item.key, **{k: item.value.get(k) for k in ("text", "run_id", "created_at")}}


@tool(destructive=False, idempotent=False)
async def write_note(
    text: Annotated[str, Quoted(), Field(min_length=1, max_length=2000)], ctx: RunContext
) -> dict[str, Any]:
    """Save a note for later: facts, decisions or intermediate results, in the user's own words (copied from
    the request). Notes persist across runs.

    Returns the new note's id.
    """
    if not text.strip():
        raise ToolError("the note is empty")
    store = _store(ctx)
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    # one key per call: stable when a resumed run repeats the call, so it cannot write the note twice
    origin = f"{ctx.run_id}/{ctx.call_id}" if ctx.call_id else uuid.uuid4().hex
    key = hashlib.sha256(origin.encode()).hexdigest()[:10]
    value = {"text": text, "run_id": ctx.run_id, "created_at": created_at}
    if getattr(store, "embedder", None) is not None:  # a store with embeddings: never wait for the model here
        await store.aput(NAMESPACE, key, value, index=["text"], embed_later=True)
    else:
        await store.aput(NAMESPACE, key, value, index=["text"])
    return {"id": key, "run_id": ctx.run_id, "created_at": created_at}


@tool(read_only=True)
async def search_notes(
    query: Annotated[str, Quoted()] = "",
    ctx: RunContext | None = None,
    limit: Annotated[int, Field(ge=1, le=20)] = 5,
) -> list[dict[str, Any]]:
    """Search saved notes (from this and earlier runs) by words of the request, best matches first.

    Without a query, lists the most recent notes.
    """
    store = _store(ctx)
    if query.strip():
        words = (
            {"mode": "fts"} if getattr(store, "embedder", None) is not None else {}
        )  # notes search by words
        found = await store.asearch(NAMESPACE, query=query, limit=limit, **words)
        if found:
            return [_note(item) for item in found]
        recent = await store.asearch(NAMESPACE, limit=SUBSTRING_SCAN)
        needle = query.strip().casefold()
        return [_note(item) for item in recent if needle in str(item.value.get("text", "")).casefold()][
            :limit
        ]
    return [_note(item) for item in await store.asearch(NAMESPACE, limit=limit)]
