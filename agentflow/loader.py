"""Finding a graph from what the user typed: a file path, `file.py:factory`, a module path
(`package.module:factory`, importable from `sys.path`), or a bundled graph name.

A graph file exposes a factory named `make_graph` (or another name after a colon) that takes no arguments
and returns a LangGraph `StateGraph` (or a compiled graph). Models and budgets are not the graph's business:
the runner supplies them (`--model`, `--max-steps`, ...), so one graph file runs on any model.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentflow.exceptions import GraphLoadError

__all__ = [
    "DEFAULT_FACTORY",
    "GraphInfo",
    "bundled_graphs",
    "check_graph_ref",
    "graph_info",
    "graph_name",
    "resolve_graph",
]

DEFAULT_FACTORY = "make_graph"


def bundled_graphs() -> list[str]:
    """Names of the graphs that ship with agentflow (`agentflow run NAME`)."""
    import agentflow.graphs as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


@dataclass(frozen=True, slots=True)
class GraphInfo:
    """What `agentflow graphs` shows of a graph file: its name, the first paragraph of its docstring and the
    model roles it declares (`ROLES = (...)` at module level)."""

    name: str
    description: str
    roles: tuple[str, ...]


def graph_info(name: str) -> GraphInfo:
    """A bundled graph's description and roles, read from its source (nothing imported: it stays fast)."""
    import agentflow.graphs as package

    for folder in package.__path__:
        path = Path(folder) / f"{name}.py"
        if path.is_file():
            return _info_of(name, path)
    raise GraphLoadError(f"no bundled graph named '{name}' (bundled: {', '.join(bundled_graphs())})")


def _info_of(name: str, path: Path) -> GraphInfo:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    doc = ast.get_docstring(tree) or ""
    description = " ".join(doc.split("\n\n", 1)[0].split())
    roles: tuple[str, ...] = ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ROLES" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            roles = tuple(str(r) for r in value)
    return GraphInfo(name, description, roles)


def check_graph_ref(ref: str) -> None:
    """Cheap checks of a graph reference before anything is loaded: the file exists, or the bundled graph
    does (`GraphLoadError` naming the problem). Loading it may still fail (`resolve_graph`)."""
    path_part, _ = _split_ref(ref)
    if _looks_like_path(path_part):
        path = Path(path_part).expanduser()
        if not path.is_file():
            raise GraphLoadError(f"graph file not found: {path}")
        return
    if _is_module_path(path_part):
        if importlib.util.find_spec(path_part.split(".")[0]) is None:
            raise GraphLoadError(f"no module named '{path_part}' (a module path must be importable)")
        return
    if not path_part.isidentifier():
        raise GraphLoadError(f"{ref!r} is neither a graph file (*.py) nor a bundled graph name")
    if path_part not in bundled_graphs():
        names = ", ".join(bundled_graphs()) or "none"
        raise GraphLoadError(
            f"no bundled graph named '{path_part}' (bundled: {names}); or give a path to a .py file"
        )


def _looks_like_path(text: str) -> bool:
    return text.endswith(".py") or "/" in text or "\\" in text


def _is_module_path(text: str) -> bool:
    """`package.module` (dotted identifiers): a module to import."""
    return "." in text and all(part.isidentifier() for part in text.split("."))


def _import_module(path: str) -> Any:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name):
            raise GraphLoadError(f"no module named '{path}' (a module path must be importable)") from None
        raise GraphLoadError(f"module '{path}' needs a missing module: {exc.name}") from exc
    except Exception as exc:
        raise GraphLoadError(f"importing module '{path}' failed: {type(exc).__name__}: {exc}") from exc


def graph_name(graph: Any) -> str:
    return f"python:{type(graph).__module__}.{type(graph).__qualname__}@{id(graph):x}"


def _is_graph(value: Any) -> bool:
    return hasattr(value, "compile") or hasattr(value, "ainvoke")


def _takes_tools(factory: Any) -> bool:
    try:
        return "tools" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def _from_module(module: Any, attr: str | None, where: str, extra_tools: Sequence[Any] = ()) -> Any:
    names = [attr] if attr else [DEFAULT_FACTORY, "graph"]
    for name in names:
        if not hasattr(module, name):
            continue
        value = getattr(module, name)
        if _is_graph(value) and not extra_tools:
            return value
        if extra_tools and not (callable(value) and _takes_tools(value)):
            raise GraphLoadError(
                f"{where}: '{name}' takes no extra tools (a factory with a `tools` parameter does), so it cannot "
                "use --mcp-stdio / --mcp-http servers"
            )
        if callable(value):
            try:
                built = value(tools=list(extra_tools)) if extra_tools else value()
            except GraphLoadError:
                raise
            except Exception as exc:
                raise GraphLoadError(f"{where}: {name}() failed: {type(exc).__name__}: {exc}") from exc
            if not _is_graph(built):
                raise GraphLoadError(
                    f"{where}: {name}() returned {type(built).__name__}, not a LangGraph graph"
                )
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


def _resolve_ref(ref: str, extra_tools: Sequence[Any] = ()) -> Any:
    path_part, attr = _split_ref(ref)
    if _looks_like_path(path_part):
        path = Path(path_part).expanduser()
        if not path.is_file():
            raise GraphLoadError(f"graph file not found: {path}")
        return _from_module(_load_file(path), attr or None, str(path), extra_tools)
    if _is_module_path(path_part):
        return _from_module(_import_module(path_part), attr or None, f"module '{path_part}'", extra_tools)
    if not path_part.isidentifier():
        raise GraphLoadError(f"{ref!r} is neither a graph file (*.py) nor a bundled graph name")
    try:
        module = importlib.import_module(f"agentflow.graphs.{path_part}")
    except ModuleNotFoundError as exc:
        if exc.name != f"agentflow.graphs.{path_part}":
            raise GraphLoadError(f"bundled graph '{path_part}' needs a missing module: {exc.name}") from exc
        names = ", ".join(bundled_graphs()) or "none"
        raise GraphLoadError(
            f"no bundled graph named '{path_part}' (bundled: {names}); or give a path to a .py file"
        ) from None
    return _from_module(module, attr or None, f"bundled graph '{path_part}'", extra_tools)


def resolve_graph(graph: Any, extra_tools: Sequence[Any] = ()) -> tuple[Any, str]:
    """(graph object, reference to record) for a path, name, factory or graph object. `extra_tools` (tools
    or tool sources) go to a graph file's factory as `tools=`; a factory without that parameter, or a graph
    object, is refused with them."""
    if extra_tools and not isinstance(graph, str | Path):
        raise GraphLoadError(
            "extra tools (--mcp-stdio / --mcp-http) apply to a graph file or bundled graph name"
        )
    if isinstance(graph, str | Path):
        ref = str(graph)
        built = _resolve_ref(ref, extra_tools)
        path_part, attr = _split_ref(ref)
        if path_part.isidentifier() or _is_module_path(path_part):
            return built, ref  # a bundled name or a module path
        return built, str(Path(path_part).resolve()) + (f":{attr}" if attr else "")
    if _is_graph(graph):
        return graph, graph_name(graph)
    if callable(graph):
        built = graph()
        if not _is_graph(built):
            raise GraphLoadError(f"graph factory returned {type(built).__name__}, not a LangGraph graph")
        return built, f"python:{getattr(graph, '__module__', '?')}.{getattr(graph, '__qualname__', '?')}"
    raise GraphLoadError(f"cannot run a {type(graph).__name__} as a graph")
