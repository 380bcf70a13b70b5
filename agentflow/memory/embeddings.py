"""Embeddings for the store's vector search: any function in LangGraph's `index` shape, made uniform.

    index = {"dims": 384, "embed": "agentflow:minilm", "fields": ["text"]}      # the bundled local model
    index = {"dims": 1536, "embed": my_embeddings, "model_id": "openai:text-embedding-3-small"}

`embed` is a LangChain `Embeddings` object, a sync or async function from a list of texts to a list of
vectors, or `"agentflow:minilm"` (all-MiniLM-L6-v2, int8 ONNX, offline: `agentflow.memory.MiniLM`). `fields`
are the paths whose text is embedded (LangGraph's syntax: `"text"`, `"a.b"`, `"items[*].text"`; default
`["$"]`, the whole value as JSON). `model_id` names the model (stored with every vector: a store opened with
another model refuses vector search until `agentflow memory reindex`); by default it is taken from the
object (`model_id`, `model`, `model_name`) or the function's qualified name.

`Embedder` batches, L2-normalises (so a dot product is the cosine), checks `dims`, and caches vectors by the
SHA-256 of the text (an LRU of `cache_size` texts), so a text embedded once in a process is never embedded
again.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import lazy_loader

from agentflow.exceptions import ConfigError

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_loader.load("numpy")  # (imported on first use: keeps runs that never touch vectors light)

__all__ = ["LOCAL_MODEL", "Embedder", "default_index"]

LOCAL_MODEL = "agentflow:minilm"
DEFAULT_CACHE_SIZE = 10_000


def default_index(fields: Sequence[str] = ("text",)) -> dict[str, Any]:
    """The bundled offline model as an `index` config (needs the `memory` extra when it first embeds)."""
    return {"dims": 384, "embed": LOCAL_MODEL, "fields": list(fields)}


def _model_id(embed: Any) -> str:
    for name in ("model_id", "model", "model_name"):
        value = getattr(embed, name, None)
        if isinstance(value, str) and value:
            return value if name == "model_id" else f"{type(embed).__name__}:{value}"
    target = getattr(embed, "__func__", embed)
    module = getattr(target, "__module__", "") or ""
    qualname = getattr(target, "__qualname__", type(embed).__qualname__)
    return f"{module}.{qualname}".lstrip(".")


class Embedder:
    """An `index` config made callable: `await aembed(texts)` -> unit vectors (float32, `dims` wide)."""

    def __init__(self, index: Mapping[str, Any], *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        from langgraph.store.base.embed import tokenize_path

        if not isinstance(index, Mapping) or "embed" not in index:
            raise ConfigError("index needs 'embed' (a function, an Embeddings object or 'agentflow:minilm')")
        embed = index["embed"]
        if isinstance(embed, str):
            if embed not in (LOCAL_MODEL, "minilm"):
                raise ConfigError(
                    f"index embed {embed!r}: agentflow knows {LOCAL_MODEL!r} (offline); for another provider pass "
                    "an Embeddings object or a function"
                )
            from agentflow.memory.minilm import MiniLM

            embed = MiniLM()
        self.embed = embed
        dims = index.get("dims")
        if dims is None:
            dims = getattr(embed, "dims", None)
        if not isinstance(dims, int) or dims <= 0:
            raise ConfigError(f"index needs 'dims', a positive integer (got {dims!r})")
        self.dims: int = dims
        self.model_id: str = str(index.get("model_id") or _model_id(embed))
        self.fields: list[str] = list(index.get("fields") or ["$"])
        self.paths = [(f, f if f == "$" else tokenize_path(f)) for f in self.fields]
        self._is_async = False
        self._sync: Callable[[list[str]], Any] | None
        self._async: Callable[[list[str]], Any] | None
        from agentflow.memory.minilm import MiniLM

        if isinstance(embed, MiniLM):  # arrays straight from onnxruntime, no lists of floats in between
            self._sync, self._async = embed.embed, None
        elif hasattr(embed, "embed_documents"):
            self._sync = embed.embed_documents
            self._async = getattr(embed, "aembed_documents", None)
        elif callable(embed):
            if inspect.iscoroutinefunction(embed) or inspect.iscoroutinefunction(
                getattr(embed, "__call__", None)  # noqa: B004
            ):
                self._sync, self._async, self._is_async = None, embed, True
            else:
                self._sync, self._async = embed, None
        else:
            raise ConfigError(
                f"index embed must be callable or an Embeddings object (got {type(embed).__name__})"
            )
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.embedded = 0  # texts actually sent to the model (cache misses), for tests and benchmarks

    # ------------------------------------------------------------------------------------------- texts

    def texts_of(
        self, value: Mapping[str, Any], fields: Sequence[str] | None = None
    ) -> list[tuple[str, str]]:
        """(path, text) pairs to embed for an item: `fields` if given (a put's `index`), else the config's; a
        path that yields several texts (`items[*].text`) gives `path.0`, `path.1`, ..."""
        import json

        from langgraph.store.base.embed import get_text_at_path, tokenize_path

        paths = self.paths if fields is None else [(f, f if f == "$" else tokenize_path(f)) for f in fields]
        out: list[tuple[str, str]] = []
        for name, tokens in paths:
            if tokens == "$":
                out.append((name, json.dumps(dict(value), ensure_ascii=False, sort_keys=True)))
                continue
            texts = [t for t in get_text_at_path(dict(value), tokens) if t]
            if len(texts) == 1:
                out.append((name, texts[0]))
            else:
                out += [(f"{name}.{i}", t) for i, t in enumerate(texts)]
        return out

    # --------------------------------------------------------------------------------------- embedding

    def _cached(self, texts: Sequence[str]) -> tuple[list[np.ndarray | None], list[int], list[bytes]]:
        digests = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest() for t in texts]
        found: list[np.ndarray | None] = []
        with self._lock:
            for d in digests:
                vector = self._cache.get(d)
                if vector is not None:
                    self._cache.move_to_end(d)
                found.append(vector)
        first: dict[bytes, int] = {}
        for i, vector in enumerate(found):
            if vector is None:
                first.setdefault(digests[i], i)
        return found, list(first.values()), digests  # a text repeated in the batch is embedded once

    def _finish(
        self, found: list[np.ndarray | None], missing: list[int], digests: list[bytes], raw: Any
    ) -> np.ndarray:
        new = self._normalise(raw, len(missing))
        with self._lock:
            self.embedded += len(missing)
            fresh = {digests[i]: new[row] for row, i in enumerate(missing)}
            for digest, vector in fresh.items():
                self._cache[digest] = vector
                self._cache.move_to_end(digest)
            for i, digest in enumerate(digests):
                if found[i] is None:
                    found[i] = fresh[digest]
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if not found:
            return np.zeros((0, self.dims), dtype=np.float32)
        return np.stack([v for v in found if v is not None])

    def _normalise(self, raw: Any, expected: int) -> np.ndarray:
        try:
            array = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"embedding model {self.model_id}: returned something not numeric ({exc})"
            ) from None
        if expected == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != expected or array.shape[1] != self.dims:
            raise ConfigError(
                f"embedding model {self.model_id}: expected {expected} vectors of {self.dims} dims (index 'dims'), "
                f"got shape {tuple(array.shape)}"
            )
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts` (cached ones are not embedded again); the model runs off the event loop."""
        found, missing, digests = self._cached(texts)
        if not missing:
            return self._finish(found, missing, digests, [])
        batch = [texts[i] for i in missing]
        if self._async is not None and (self._is_async or self._sync is None):
            raw = await self._async(batch)
        else:
            assert self._sync is not None
            sync = self._sync
            raw = await anyio.to_thread.run_sync(lambda: sync(batch))
        return self._finish(found, missing, digests, raw)

    def embed_blocking(self, texts: Sequence[str], loop: asyncio.AbstractEventLoop | None) -> np.ndarray:
        """`aembed` for a worker thread: a sync model runs here, an async one on `loop`."""
        found, missing, digests = self._cached(texts)
        if not missing:
            return self._finish(found, missing, digests, [])
        batch = [texts[i] for i in missing]
        if self._sync is not None:
            raw = self._sync(batch)
        else:
            if loop is None:
                raise ConfigError(
                    f"embedding model {self.model_id} is async: it needs the caller's event loop"
                )
            assert self._async is not None
            raw = asyncio.run_coroutine_threadsafe(self._async(batch), loop).result()
        return self._finish(found, missing, digests, raw)
