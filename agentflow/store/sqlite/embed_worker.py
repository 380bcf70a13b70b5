"""The background embedder: items put with `embed_later=True` get their vectors here, off the caller's path.

One thread per store. It takes every queued item (up to `BATCH`), reads them, embeds their texts in one batch
(a sync model runs on this thread, an async one on the caller's event loop), decides de-duplication (an item
with a `dedup` threshold whose nearest neighbour in the same namespace — in the index or earlier in the
batch — is at least that similar is merged into it), and commits through the store's group-commit writer on
the caller's event loop. Items stay marked `pending` in the database until their vectors are committed: the
first worker of a later process (after a crash) embeds them. `drain()` waits until the queue is empty;
`close()` finishes it and stops the thread.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import lazy_loader
import structlog

from agentflow.store.sqlite.vectors import read_version

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_loader.load("numpy")  # (imported on first use: keeps runs that never touch vectors light)

if TYPE_CHECKING:
    from agentflow.store.sqlite.documents import SqliteDocumentStore

__all__ = ["BATCH", "EmbedWorker"]

log = structlog.get_logger("agentflow.memory")

BATCH = 64
RESULT_TIMEOUT_S = 120.0


@dataclass(slots=True)
class _Job:
    keys: list[tuple[str, str]]
    loop: asyncio.AbstractEventLoop
    done: threading.Event = field(default_factory=threading.Event)


class EmbedWorker:
    """Embeds pending items of one store on a thread of its own."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._recovered = False
        self._outstanding = 0
        self._idle = threading.Condition(self._lock)
        self.error: BaseException | None = None
        self.merged: dict[tuple[str, str], tuple[str, str]] = {}  # item -> the near duplicate it went into

    def enqueue(self, keys: list[tuple[str, str]], *, recover: bool = True) -> None:
        """Queue items for embedding (call on the event loop that owns the store's writes)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name="agentflow-embedder", daemon=True)
                self._thread.start()
            first = recover and not self._recovered
            self._recovered = True
            self._outstanding += 1 + first
        if first:  # items a crashed process left pending
            self._queue.put(_Job([], loop))
        self._queue.put(_Job(keys, loop))

    async def drain(self) -> None:
        """Wait until everything queued so far is embedded (raises what embedding failed with)."""
        if not self._recovered:
            self.enqueue([])

        def wait() -> None:
            with self._idle:
                self._idle.wait_for(lambda: self._outstanding == 0)

        await anyio.to_thread.run_sync(wait)
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def close(self) -> None:
        """Finish the queue and stop. Called on an event loop's own thread (where the worker's writes would
        have to run), it only tells the thread to stop: what is not embedded stays pending for next time."""
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            thread.join()

    # ------------------------------------------------------------------------------------------ the thread

    def _main(self) -> None:
        conn = sqlite3.connect(
            self.store.storage.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.execute("PRAGMA query_only = ON")
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    break
                jobs = [job]
                stop = False
                while sum(len(j.keys) for j in jobs) < BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    jobs.append(more)
                try:
                    self._run(conn, jobs)
                except BaseException as exc:  # reported to the next drain(); the items stay pending
                    self.error = exc
                    log.error("background embedding failed", error=str(exc))
                finally:
                    with self._idle:
                        self._outstanding -= len(jobs)
                        self._idle.notify_all()
                if stop:
                    break
        finally:
            conn.close()

    def _run(self, conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        loop = jobs[-1].loop
        keys = list(dict.fromkeys(k for j in jobs for k in j.keys))
        if any(not j.keys for j in jobs):  # a recovery job: everything still pending
            keys += [
                tuple(r)
                for r in conn.execute(
                    "SELECT namespace, key FROM store_items WHERE pending = 1 ORDER BY rowid"
                )
                if tuple(r) not in keys
            ]
        for start in range(0, len(keys), BATCH):
            self._embed(conn, keys[start : start + BATCH], loop)

    def _embed(self, conn: sqlite3.Connection, keys: list[Any], loop: asyncio.AbstractEventLoop) -> None:
        store, embedder, index = self.store, self.store.embedder, self.store.vectors
        assert embedder is not None and index is not None
        items = []
        for ns, key in keys:
            row = conn.execute(
                "SELECT value, embed_fields, dedup FROM store_items WHERE namespace = ? AND key = ? AND pending = 1",
                (ns, key),
            ).fetchone()
            if row is not None:
                items.append((ns, key, json.loads(row[0]), json.loads(row[1]) if row[1] else None, row[2]))
        if not items:
            return
        jobs = [
            (i, path, text)
            for i, (_, _, value, fields, _) in enumerate(items)
            for path, text in embedder.texts_of(value, fields)
        ]
        vectors = embedder.embed_blocking([text for *_, text in jobs], loop)
        grouped: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {
            (ns, key): [] for ns, key, *_ in items
        }
        for (i, path, _), vector in zip(jobs, vectors, strict=True):
            grouped[(items[i][0], items[i][1])].append((path, vector))
        merges: dict[tuple[str, str], tuple[str, str]] = {}
        if any(item[4] is not None for item in items):
            if index.version is None or index.version != read_version(conn):
                index.load(conn, embedder.model_id)
            kept: list[tuple[str, str, np.ndarray]] = []  # earlier items of this batch, not merged
            for ns, key, _, _, threshold in items:
                rows = grouped[(ns, key)]
                if threshold is None or not rows:
                    kept += [(ns, key, v) for _, v in rows]
                    continue
                target = self._nearest(ns, key, rows, kept, threshold)
                if target is not None:
                    merges[(ns, key)] = target
                else:
                    kept += [(ns, key, v) for _, v in rows]
        future = asyncio.run_coroutine_threadsafe(store.store_vectors(grouped, merges), loop)
        done = future.result(timeout=RESULT_TIMEOUT_S)
        with self._lock:
            self.merged.update(done)

    def _nearest(
        self,
        ns: str,
        key: str,
        rows: list[tuple[str, np.ndarray]],
        kept: list[tuple[str, str, np.ndarray]],
        threshold: float,
    ) -> tuple[str, str] | None:
        """The most similar other item of namespace `ns` (in the index or earlier in this batch) if it is at
        least `threshold` similar to any of the item's vectors."""
        index = self.store.vectors
        assert index is not None
        best: tuple[float, tuple[str, str]] | None = None
        for _, vector in rows:
            for hit_ns, hit_key, score in index.search(
                vector, prefix=ns, exact=True, k=1, exclude=[(ns, key)]
            ):
                if best is None or score > best[0]:
                    best = (score, (hit_ns, hit_key))
            for other_ns, other_key, other in kept:
                if other_ns == ns and other_key != key:
                    score = float(other @ vector)
                    if best is None or score > best[0]:
                        best = (score, (other_ns, other_key))
        return best[1] if best is not None and best[0] >= threshold else None
