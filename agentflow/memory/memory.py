"""`Memory`: remember / recall / forget over any LangGraph `BaseStore`, with de-duplication on write.

    memory = Memory(store, ("user", "alice"))
    await memory.remember("prefers window seats")          # returns the memory's key
    hits = await memory.recall("seat preference", limit=5)

- A memory is an item `{"text": ..., "kind": ..., **metadata}` keyed by a hash of its normalised text, so
  the same fact remembered twice is one item (updated, not added).
- A *near* duplicate updates the existing memory too: with embeddings, one whose vector is at least `dedup`
  (cosine) similar to a memory of the same namespace; without, one whose word set overlaps at least
  `lexical_dedup` (Jaccard) with one of the full-text matches.
- On agentflow's store (`SqliteDocumentStore`), `remember` commits the text at once (full-text searchable)
  and leaves embedding and the near-duplicate check to the store's background embedder, so a model step
  never waits for the embedding model; `wait=True` (or `await memory.flush()`) waits for it. On any other
  store it embeds and checks before it returns.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from agentflow.exceptions import ConfigError

__all__ = ["DEFAULT_DEDUP", "LEXICAL_DEDUP", "Memory", "memory_key", "normalise"]

DEFAULT_DEDUP = 0.9  # all-MiniLM-L6-v2: paraphrases score ~0.8, restatements of one fact ~0.9 and above
LEXICAL_DEDUP = 0.8


def normalise(text: str) -> str:
    """Case, accents' composition, punctuation at the ends and runs of white space do not make a new fact."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip(" \t\n.!?;,")


def memory_key(text: str) -> str:
    return hashlib.sha256(normalise(text).encode()).hexdigest()[:16]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", normalise(text)))


class Memory:
    """Memories of one namespace of a store."""

    def __init__(
        self,
        store: Any,
        namespace: tuple[str, ...],
        *,
        dedup: float | None = DEFAULT_DEDUP,
        lexical_dedup: float | None = LEXICAL_DEDUP,
    ) -> None:
        if store is None:
            raise ConfigError("memory needs a store (a run database: agentflow run ... --db PATH)")
        self.store = store
        self.namespace = tuple(namespace)
        self.dedup = dedup
        self.lexical_dedup = lexical_dedup

    @property
    def has_embeddings(self) -> bool:
        return bool(getattr(self.store, "embedder", None) or getattr(self.store, "index_config", None))

    async def remember(
        self,
        text: str,
        *,
        kind: str = "fact",
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
        wait: bool = False,
    ) -> str:
        """Store `text` (merging a duplicate); returns its key. `ttl` in minutes."""
        text = text.strip()
        if not text:
            raise ConfigError("a memory needs some text")
        value = {**dict(metadata or {}), "text": text, "kind": kind}
        key = memory_key(text)
        ttl_option = {"ttl": ttl} if ttl is not None else {}  # else the store's default TTL, if any
        if not self.has_embeddings and self.lexical_dedup is not None:
            key = await self._lexical_duplicate(text) or key
        if self.has_embeddings and hasattr(
            self.store, "aflush"
        ):  # agentflow's store: embed in the background
            await self.store.aput(
                self.namespace, key, value, embed_later=True, dedup=self.dedup, **ttl_option
            )
            if wait:
                await self.store.aflush()
            return key
        if self.has_embeddings and self.dedup is not None:
            hits = await self.store.asearch(self.namespace, query=text, limit=3)
            near = [h for h in hits if h.namespace == self.namespace and (h.score or 0) >= self.dedup]
            if near:
                key = near[0].key
        await self.store.aput(self.namespace, key, value, **ttl_option)
        return key

    async def _lexical_duplicate(self, text: str) -> str | None:
        words = _words(text)
        if not words:
            return None
        for hit in await self.store.asearch(self.namespace, query=text, limit=5):
            if hit.namespace != self.namespace:
                continue
            other = _words(str(hit.value.get("text", "")))
            if other and len(words & other) / len(words | other) >= (self.lexical_dedup or 1.0):
                return str(hit.key)
        return None

    async def recall(
        self,
        query: str,
        *,
        limit: int = 5,
        mode: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """The memories best matching `query` (the most recent ones for an empty query), best first."""
        options: dict[str, Any] = {"limit": limit, "filter": dict(filter) if filter else None}
        if mode is not None:
            options["mode"] = mode
        if query.strip():
            options["query"] = query
        return list(await self.store.asearch(self.namespace, **options))

    async def get(self, key: str) -> Any:
        return await self.store.aget(self.namespace, key)

    async def forget(self, key: str) -> bool:
        """Delete a memory; False if there was none with this key."""
        if await self.store.aget(self.namespace, key, refresh_ttl=False) is None:
            return False
        await self.store.adelete(self.namespace, key)
        return True

    async def flush(self) -> None:
        """Wait for background embedding (agentflow's store; a no-op elsewhere)."""
        if hasattr(self.store, "aflush"):
            await self.store.aflush()
