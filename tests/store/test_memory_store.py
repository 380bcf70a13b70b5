"""The memory store's conformance suite (vector / hybrid search, filters, TTL, de-duplication, embedding
models), run over every backend of tests/store/conftest.py and compared with LangGraph's `InMemoryStore`."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langgraph.store.memory import InMemoryStore

from agentflow.exceptions import ConfigError, EmbeddingMismatchError, StoreError
from agentflow.store import open_storage

pytestmark = pytest.mark.anyio

DIMS = 64


@pytest.fixture
def make_storage(tmp_path: Path) -> Callable[..., Any]:
    """The memory store's features (vectors, TTL, background embedding) are the SQLite backend's; PostgreSQL's
    store does full-text search only (its conformance is in test_conformance.py)."""
    return lambda **options: open_storage(tmp_path / "memory.db", **options)


def bag_of_words(texts: list[str]) -> list[list[float]]:
    """A deterministic embedding (a fake of the model): words hashed into 64 buckets."""
    out = []
    for text in texts:
        vector = np.zeros(DIMS)
        for word in text.lower().replace(",", " ").split():
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMS] += 1.0
        out.append(vector.tolist())
    return out


INDEX = {"dims": DIMS, "embed": bag_of_words, "fields": ["text"], "model_id": "bag-of-words"}

ITEMS = [
    (("users", "u1"), "a", {"text": "likes green tea in the morning", "kind": "pref", "n": 3, "tags": ["x"]}),
    (("users", "u1"), "b", {"text": "allergic to peanuts", "kind": "health", "n": 5, "meta": {"src": "doc"}}),
    (("users", "u2"), "a", {"text": "likes black coffee", "kind": "pref", "n": 7, "tags": ["x", "y"]}),
    (
        ("users", "u2"),
        "c",
        {"text": "drinks tea with lemon", "kind": "pref", "n": 1, "meta": {"src": "chat"}},
    ),
    (("teams", "t1", "notes"), "d", {"text": "the tea kettle is broken", "kind": "note", "n": 9}),
]


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def _fill(store: Any) -> None:
    for namespace, key, value in ITEMS:
        await store.aput(namespace, key, value)


def _reference() -> InMemoryStore:
    reference = InMemoryStore(index=INDEX)  # type: ignore[arg-type]
    for namespace, key, value in ITEMS:
        reference.put(namespace, key, value)
    return reference


async def test_same_answers_as_langgraphs_in_memory_store(make_storage: Callable[..., Any]) -> None:
    """Get, filters (operators, nested dicts, lists), namespace listing and vector ranking agree with
    LangGraph's InMemoryStore on the same operations (its scores too, within float error)."""
    reference = _reference()
    async with make_storage(index=INDEX) as storage:
        store = storage.store
        await _fill(store)
        for namespace, key, value in ITEMS:
            item = await store.aget(namespace, key)
            assert item is not None and item.value == value == reference.get(namespace, key).value  # type: ignore[union-attr]
        filters: list[dict[str, Any]] = [
            {"kind": "pref"},
            {"n": {"$gt": 3}},
            {"n": {"$gte": 3, "$lt": 9}},
            {"kind": {"$ne": "pref"}},
            {"meta": {"src": "chat"}},
            {"tags": ["x", "y"]},
            {"tags": ["x"]},
            {"kind": "pref", "n": {"$lte": 3}},
            {"missing": "x"},
        ]
        for flt in filters:
            ours = {(h.namespace, h.key) for h in await store.asearch(("users",), filter=flt, limit=50)}
            theirs = {(h.namespace, h.key) for h in reference.search(("users",), filter=flt, limit=50)}
            assert ours == theirs, flt
        for kwargs in (
            {},
            {"prefix": ("users",)},
            {"suffix": ("notes",)},
            {"prefix": ("*", "u2")},
            {"max_depth": 1},
            {"limit": 1, "offset": 1},
        ):
            assert await store.alist_namespaces(**kwargs) == reference.list_namespaces(**kwargs), kwargs
        for query, prefix in (
            ("tea", ()),
            ("likes coffee", ("users",)),
            ("peanuts allergy", ("users", "u1")),
        ):
            ours_hits = await store.asearch(prefix, query=query, mode="vector", limit=3)
            theirs_hits = reference.search(prefix, query=query, limit=3)
            assert [h.score for h in ours_hits] == pytest.approx([h.score for h in theirs_hits], abs=1e-5)
            top = theirs_hits[0]
            assert (ours_hits[0].namespace, ours_hits[0].key) == (top.namespace, top.key), query


async def test_modes_full_text_vector_and_hybrid(make_storage: Callable[..., Any]) -> None:
    """Each mode ranks by its own signal; hybrid fuses both; without embeddings only full text works."""
    async with make_storage(index=INDEX) as storage:
        store = storage.store
        await _fill(store)
        fts = await store.asearch(("users",), query="tea", mode="fts")
        assert {h.key for h in fts} == {"a", "c"} and all(h.score and h.score > 0 for h in fts)
        vector = await store.asearch(("users",), query="tea", mode="vector", limit=4)
        assert len(vector) == 4 and vector[0].score >= vector[-1].score  # every item has a cosine
        hybrid = await store.asearch(("users",), query="tea", mode="hybrid", limit=4)
        assert {h.key for h in hybrid[:2]} == {"a", "c"}  # found by both rankings: first
        assert [h.key for h in await store.asearch(("users",), query="tea")] == [h.key for h in hybrid[:10]]
        with pytest.raises(ConfigError, match="unknown search mode"):
            await store.asearch(("users",), query="tea", mode="semantic")  # type: ignore[arg-type]
        paged = await store.asearch(("users",), query="tea", mode="hybrid", limit=2, offset=1)
        assert [h.key for h in paged] == [h.key for h in hybrid[1:3]]
    async with make_storage() as storage:  # the same file, no embeddings
        store = storage.store
        assert {h.key for h in await store.asearch(("users",), query="tea")} == {"a", "c"}
        with pytest.raises(ConfigError, match="needs embeddings"):
            await store.asearch(("users",), query="tea", mode="vector")


async def test_vector_search_with_a_selective_filter_finds_enough(make_storage: Callable[..., Any]) -> None:
    """A filter that few near items pass still yields `limit` results (the index is asked for more)."""
    async with make_storage(index=INDEX) as storage:
        store = storage.store
        for i in range(60):
            await store.aput(("docs",), f"k{i}", {"text": f"tea note {i}", "even": i % 2 == 0, "i": i})
        await store.aput(("docs",), "far", {"text": "quantum chromodynamics", "even": "odd-one", "i": 100})
        hits = await store.asearch(
            ("docs",), query="tea", mode="vector", filter={"i": {"$gte": 55}}, limit=10
        )
        assert {h.key for h in hits} == {"k55", "k56", "k57", "k58", "k59", "far"}
        hits = await store.asearch(("docs",), query="tea", mode="vector", filter={"even": "odd-one"})
        assert [h.key for h in hits] == ["far"]


async def test_ttl_expiry_and_refresh_on_read(make_storage: Callable[..., Any]) -> None:
    """An item expires `ttl` minutes after its last write or read; reads refresh it unless told not to;
    expired items are invisible to every read and swept by the next write (vectors too)."""
    clock = Clock()
    async with make_storage(index=INDEX) as storage:
        store = storage.store
        store.clock = clock
        await store.aput(("s",), "short", {"text": "short lived tea"}, ttl=1)
        await store.aput(("s",), "keep", {"text": "kept tea"})
        clock.now += 50
        assert await store.aget(("s",), "short") is not None  # refreshes: expires 60 s from now
        clock.now += 50
        assert await store.aget(("s",), "short", refresh_ttl=False) is not None
        clock.now += 15
        assert await store.aget(("s",), "short") is None
        assert [h.key for h in await store.asearch(("s",), query="tea", mode="hybrid")] == ["keep"]
        assert [h.key for h in await store.asearch(("s",))] == ["keep"]
        await store.aput(("s",), "other", {"text": "x"})  # the sweep: the expired item is gone for good
        clock.now -= 10_000  # even a clock turned back does not bring it back
        assert await store.aget(("s",), "short") is None
        assert "short" not in {h.key for h in await store.asearch(("s",), query="tea", mode="vector")}
        clock.now += 10_000
        await store.aput(("s",), "search", {"text": "searched tea"}, ttl=1)
        clock.now += 50
        assert [h.key for h in await store.asearch(("s",), query="searched", mode="fts")] == ["search"]
        clock.now += 50  # the search refreshed it
        assert await store.aget(("s",), "search") is not None


async def test_default_ttl_from_the_store_config(make_storage: Callable[..., Any]) -> None:
    """`store_ttl={"default_ttl": minutes, "refresh_on_read": False}` applies to puts without a ttl."""
    clock = Clock()
    async with make_storage(store_ttl={"default_ttl": 2, "refresh_on_read": False}) as storage:
        store = storage.store
        store.clock = clock
        await store.aput(("s",), "k", {"text": "x"})
        clock.now += 100
        assert await store.aget(("s",), "k") is not None  # no refresh
        clock.now += 30
        assert await store.aget(("s",), "k") is None
        assert await store.alist_namespaces() == []


async def test_background_embedding_and_near_duplicates(make_storage: Callable[..., Any]) -> None:
    """`embed_later` commits at once (full-text searchable before its vectors exist); once embedded, a near
    duplicate is merged into the existing item instead of added."""
    gate = threading.Event()

    def slow(texts: list[str]) -> list[list[float]]:
        gate.wait(30)
        return bag_of_words(texts)

    async with make_storage(index={**INDEX, "embed": slow, "model_id": "bag-of-words"}) as storage:
        store = storage.store
        gate.set()
        await store.aput(("m",), "tea", {"text": "alice likes green tea"})
        gate.clear()
        await store.aput(("m",), "tea2", {"text": "alice likes green tea a lot"}, embed_later=True, dedup=0.8)
        await store.aput(("m",), "car", {"text": "bob drives a red car"}, embed_later=True, dedup=0.8)
        assert {h.key for h in await store.asearch(("m",), query="alice", mode="fts")} == {"tea", "tea2"}
        gate.set()
        await store.aflush()
        assert await store.aget(("m",), "tea2") is None
        merged = await store.aget(("m",), "tea")
        assert merged is not None and merged.value["text"] == "alice likes green tea a lot"
        assert {h.key for h in await store.asearch(("m",), query="green tea", mode="vector")} == {
            "tea",
            "car",
        }
        assert [h.key for h in await store.asearch(("m",), query="alice", mode="fts")] == ["tea"]


async def test_pending_embeddings_survive_a_restart(make_storage: Callable[..., Any]) -> None:
    """Items committed but not yet embedded when the process stopped are embedded by the next one."""

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the embedding model crashed")

    async with make_storage(index={**INDEX, "embed": broken, "model_id": "bag-of-words"}) as storage:
        await storage.store.aput(("m",), "k", {"text": "tea"}, embed_later=True)
        with pytest.raises(RuntimeError, match="crashed"):
            await storage.store.aflush()
    async with make_storage() as storage:  # a process without embeddings leaves them pending
        assert [h.key for h in await storage.store.asearch(("m",), query="tea")] == ["k"]
    async with make_storage(index=INDEX) as storage:
        await storage.store.aflush()
        assert [h.key for h in await storage.store.asearch(("m",), query="tea", mode="vector")] == ["k"]


async def test_another_embedding_model_refuses_vector_search_until_reindexed(
    make_storage: Callable[..., Any],
) -> None:
    """Vectors carry their model's id: a store opened with another model refuses vector and hybrid search
    (typed error, full text still works) until reindex re-embeds everything."""
    async with make_storage(index={**INDEX, "model_id": "model-a"}) as storage:
        await _fill(storage.store)
    other = {**INDEX, "model_id": "model-b"}
    async with make_storage(index=other) as storage:
        store = storage.store
        for mode in ("vector", "hybrid"):
            with pytest.raises(EmbeddingMismatchError, match="model-a") as caught:
                await store.asearch(("users",), query="tea", mode=mode)
            assert caught.value.stored == "model-a" and caught.value.current == "model-b"
        assert len(await store.asearch(("users",), query="tea", mode="fts")) == 2
        assert await store.areindex() == len(ITEMS)
        hits = await store.asearch(("users",), query="tea", mode="vector", limit=2)
        assert {h.key for h in hits} <= {"a", "c"}
    async with make_storage(index={**INDEX, "model_id": "model-a"}) as storage:
        with pytest.raises(EmbeddingMismatchError, match="model-b"):
            await storage.store.asearch(("users",), query="tea", mode="vector")


async def test_vectors_written_by_another_process_are_seen(make_storage: Callable[..., Any]) -> None:
    """Two stores on one file: what one writes (or deletes), the other's vector search sees."""
    async with make_storage(index=INDEX) as first, make_storage(index=INDEX) as second:
        await first.store.aput(("m",), "a", {"text": "green tea"})
        assert [h.key for h in await second.store.asearch(("m",), query="tea", mode="vector")] == ["a"]
        await first.store.aput(("m",), "b", {"text": "black tea"})
        await first.store.adelete(("m",), "a")
        assert [h.key for h in await second.store.asearch(("m",), query="tea", mode="vector")] == ["b"]


async def test_bad_input_is_a_clear_error(make_storage: Callable[..., Any]) -> None:
    """Unknown filter operators, wrong vector sizes and bad index configs are typed errors naming the problem."""
    async with make_storage(index=INDEX) as storage:
        with pytest.raises(ConfigError, match=r"unknown operator '\$regex'"):
            await storage.store.asearch(("m",), filter={"text": {"$regex": "x"}})
    async with make_storage(index={**INDEX, "dims": 8}) as storage:
        with pytest.raises(ConfigError, match="expected 1 vectors of 8 dims"):
            await storage.store.aput(("m",), "k", {"text": "tea"})
        with pytest.raises(ConfigError, match="expected 1 vectors of 8 dims"):
            await storage.store.asearch(("m",), query="tea", mode="hybrid")
    with pytest.raises(ConfigError, match="'dims'"):
        async with make_storage(index={"embed": bag_of_words}) as storage:
            storage.store  # noqa: B018
    with pytest.raises(ConfigError, match="agentflow:minilm"):
        async with make_storage(index={"dims": 3, "embed": "openai:text-embedding-3-small"}) as storage:
            storage.store  # noqa: B018


async def test_a_corrupt_file_is_the_run_databases_error(tmp_path: Path) -> None:
    """Opening the store on a corrupt file raises the same `StoreError` as the run database does."""
    path = tmp_path / "memory.db"
    async with open_storage(path, index=INDEX) as storage:
        await storage.store.aput(("m",), "k", {"text": "tea"})
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page's b-tree is garbage now
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=str(path.name)):
        async with open_storage(path, index=INDEX) as storage:
            await storage.store.asearch(("m",), query="tea")
    sqlite3.connect(":memory:").close()


async def test_upgrading_a_schema_4_file_keeps_full_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file written before vectors (schema 4) opens upgraded: its items are found by full text, and
    replacing or deleting one leaves no stale full-text row behind."""
    from agentflow.store.sqlite import schema

    path = tmp_path / "old.db"
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 4)
    async with open_storage(path):
        pass
    conn = sqlite3.connect(path)
    with conn:
        for key, text in (("a", "green tea"), ("b", "black coffee")):
            conn.execute(
                "INSERT INTO store_items VALUES ('notes', ?, json_object('text', ?), '2026-01-01T00:00:00+00:00', "
                "'2026-01-01T00:00:00+00:00', NULL)",
                (key, text),
            )
            conn.execute("INSERT INTO store_fts (namespace, key, text) VALUES ('notes', ?, ?)", (key, text))
    conn.close()
    monkeypatch.undo()
    async with open_storage(path) as storage:
        store = storage.store
        assert [h.key for h in await store.asearch(("notes",), query="tea")] == ["a"]
        await store.aput(("notes",), "a", {"text": "oolong"})
        await store.adelete(("notes",), "b")
        assert await store.asearch(("notes",), query="tea") == []
        assert await store.asearch(("notes",), query="coffee") == []
        assert [h.key for h in await store.asearch(("notes",), query="oolong")] == ["a"]
        rows = await storage.readers.run(lambda c: c.execute("SELECT COUNT(*) FROM store_fts").fetchone()[0])
        assert rows == 1


async def test_namespace_prefixes_are_exact_in_every_mode(make_storage: Callable[..., Any]) -> None:
    """A prefix matches whole labels only: ("user",) is not ("users",) even where the full-text index
    stems or splits labels alike ("users" -> "user", "a@x" and "a x" -> the words a, x)."""
    async with make_storage(index=INDEX) as storage:
        store = storage.store
        for ns in (("user", "a@x"), ("user", "a x"), ("users", "a@x"), ("user", "a@x", "deep")):
            await store.aput(ns, "k", {"text": "green tea"})
        for mode in ("fts", "vector", "hybrid"):
            found = {h.namespace for h in await store.asearch(("user", "a@x"), query="tea", mode=mode)}
            assert found == {("user", "a@x"), ("user", "a@x", "deep")}, mode
            found = {h.namespace for h in await store.asearch(("user",), query="tea", mode=mode)}
            assert ("users", "a@x") not in found and len(found) == 3, mode
