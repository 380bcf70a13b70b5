"""Finding a graph from what the user typed: a file path, `file.py:factory`, or a bundled graph name.

A graph file exposes a factory named `make_graph` (or another name after a colon) that takes no arguments
and returns a LangGraph `StateGraph` (or a compiled graph). Models and budgets are not the graph's business:
the runner supplies them (`--model`, `--max-steps`, ...), so one graph file runs on any model.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Any

from agentflow.exceptions import GraphLoadError

__all__ = ["DEFAULT_FACTORY", "bundled_graphs", "graph_name", "resolve_graph"]

DEFAULT_FACTORY = "make_graph"


def bundled_graphs() -> list[str]:
    """Names of the graphs that ship with agentflow (`agentflow run NAME`)."""
    import agentflow.graphs as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def graph_name(graph: Any) -> str:
    return f"python:{type(graph).__module__}.{type(graph).__qualname__}@{id(graph):x}"


def _is_graph(value: Any) -> bool:
    return hasattr(value, "compile") or hasattr(value, "ainvoke")


def _from_module(module: Any, attr: str | None, where: str) -> Any:
    names = [attr] if attr else [DEFAULT_FACTORY, "graph"]
    for name in names:
        if not hasattr(module, name):
            continue
        value = getattr(module, name)
        if _is_graph(value):
            return value
        if callable(value):
            try:
                built = value()
            except GraphLoadError:
                raise
            except Exception as exc:
                raise GraphLoadError(f"{where}: {name}() failed: {type(exc).__name__}: {exc}") from exc
            if not _is_graph(built):
                raise GraphLoadError(f"{where}: {name}() returned {type(built).__name__}, not a LangGraph graph")
            return built
        raise GraphLoadError(f"{where}: '{name}' is a {type(value).__name__}, not a graph factory")
    wanted = f"'{attr}'" if attr else f"'{DEFAULT_FACTORY}' factory (or 'graph' object)"
    raise GraphLoadError(f"{where} has no {wanted}")


def _load_file(path: Path) -> Any:
    name = "agentflow_user_graph_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GraphLoadError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise GraphLoadError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise GraphLoadError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    return module


def _split_ref(ref: str) -> tuple[str, str]:
    """`file.py:factory` -> ("file.py", "factory"); a plain path or name -> (ref, "")."""
    head, sep, attr = ref.rpartition(":")
    if sep and attr.isidentifier() and head and not Path(ref).exists():
        return head, attr
    return ref, ""


def _resolve_ref(ref: str) -> Any:
    path_part, attr = _split_ref(ref)
    looks_like_path = path_part.endswith(".py") or "/" in path_part or "\\" in path_part
    if looks_like_path:
        path = Path(path_part).expanduser()
        if not path.is_file():
            raise GraphLoadError(f"graph file not found: {path}")
        return _from_module(_load_file(path), attr or None, str(path))
    if not path_part.isidentifier():
        raise GraphLoadError(f"{ref!r} is neither a graph file (*.py) nor a bundled graph name")
    try:
        module = importlib.import_module(f"agentflow.graphs.{path_part}")
    except ModuleNotFoundError as exc:
        if exc.name != f"agentflow.graphs.{path_part}":
            raise GraphLoadError(f"bundled graph '{path_part}' needs a missing module: {exc.name}") from exc
        names = ", ".join(bundled_graphs()) or "none"
        raise GraphLoadError(f"no bundled graph named '{path_part}' (bundled: {names}); "
                             "or give a path to a .py file") from None
    return _from_module(module, attr or None, f"bundled graph '{path_part}'")


def resolve_graph(graph: Any) -> tuple[Any, str]:
    """(graph object, reference to record) for a path, name, factory or graph object."""
    if isinstance(graph, str | Path):
        ref = str(graph)
        built = _resolve_ref(ref)
        path_part, attr = _split_ref(ref)
        if path_part.isidentifier():
            return built, ref  # a bundled name
        return built, str(Path(path_part).resolve()) + (f":{attr}" if attr else "")
    if _is_graph(graph):
        return graph, graph_name(graph)
    if callable(graph):
        built = graph()
        if not _is_graph(built):
            raise GraphLoadError(f"graph factory returned {type(built).__name__}, not a LangGraph graph")
        return built, f"python:{getattr(graph, '__module__', '?')}.{getattr(graph, '__qualname__', '?')}"
    raise GraphLoadError(f"cannot run a {type(graph).__name__} as a graph")
