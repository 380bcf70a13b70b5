"""`remember`, `recall` and `forget`: long-term memory for an agent, kept in the run database's store.

Memories live in a namespace filled from the values given to the run, never from the model: the default
`("user", "{user_id}")` needs `agentflow run ... --context user_id=alice` (or `Runner.run(...,
context={"user_id": "alice"})`); without it the tools answer with an error observation saying so.
`memory_tools(namespace=("agent", "{agent_id}"), ...)` builds the three tools for another template.

`remember` returns as soon as the text is committed (it is then found by full-text search); the embedding and
the near-duplicate check happen in the store's background embedder, so a step never waits for the embedding
model. Remembering a fact again, or a near duplicate of one, updates the memory already there. These tools are
in `agentflow.toolkit` but not in `DEFAULT_TOOLS`: give them to a graph explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from agentflow import ConfigError, RunContext, Tool, ToolError, memory, tool

__all__ = ["DEFAULT_NAMESPACE", "forget", "memory_tools", "recall", "remember"]

DEFAULT_NAMESPACE = ("user", "{user_id}")


def memory_tools(
    namespace: Sequence[str] = DEFAULT_NAMESPACE,
    *,
    dedup: float | None = memory.DEFAULT_DEDUP,
    mode: Literal["fts", "vector", "hybrid"] | None = None,
) -> list[Tool]:
    """`[remember, recall, forget]` over the namespace `namespace` (a template filled from the run's context
    values). `dedup`: cosine similarity at which a new memory updates an existing one (None: only exact
    repeats); `mode`: recall's search mode (default: hybrid with embeddings, else full text)."""
    template = tuple(namespace)
    memory.template_fields(template)  # a malformed template fails here, not in a run

    def open_memory(ctx: RunContext) -> Any:
        if ctx.store is None:
            raise ToolError(
                "memory needs a run database; start the run with one (agentflow run ... --db PATH)"
            )
        try:
            ns = memory.fill_namespace(template, ctx.context)
        except ConfigError as exc:
            raise ToolError(str(exc)) from None
        return memory.Memory(ctx.store, ns, dedup=dedup)

    @tool(idempotent=True)
    async def remember(
        text: Annotated[str, Field(min_length=1, max_length=1000)],
        ctx: RunContext,
        kind: Literal["fact", "preference", "event", "instruction"] = "fact",
    ) -> dict[str, Any]:
        """Remember something for later runs: a fact, a preference, an event or an instruction.

        Returns the memory's id. Remembering the same thing again updates it instead of adding a copy.
        """
        if not text.strip():
            raise ToolError("there is nothing to remember: the text is empty")
        key = await open_memory(ctx).remember(text, kind=kind, metadata={"run_id": ctx.run_id}, wait=False)
        return {"id": key, "remembered": text.strip()}

    @tool(read_only=True)
    async def recall(
        query: Annotated[str, Field(max_length=500)],
        ctx: RunContext,
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> list[dict[str, Any]]:
        """Recall what was remembered in earlier runs (facts, preferences, past tasks), best matches first.

        An empty query lists the most recent memories.
        """
        hits = await open_memory(ctx).recall(query, limit=limit, mode=mode)
        return [
            {
                "id": h.key,
                "text": h.value.get("text"),
                "kind": h.value.get("kind"),
                "updated_at": h.updated_at.isoformat(timespec="seconds"),
            }
            for h in hits
        ]

    @tool(destructive=True, idempotent=True)
    async def forget(memory_id: Annotated[str, Field(min_length=1, max_length=64)], ctx: RunContext) -> str:
        """Forget one memory, by the id `recall` gave for it."""
        if not await open_memory(ctx).forget(memory_id):
            raise ToolError(
                f"no memory with id {memory_id!r} (it may have been merged into a near duplicate); use recall "
                "to find its id"
            )
        return f"forgot {memory_id}"

    return [remember, recall, forget]


remember, recall, forget = memory_tools()
