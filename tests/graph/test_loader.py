"""Loading graphs from files, `file.py:factory` references and bundled names."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflow.exceptions import GraphLoadError
from agentflow.loader import bundled_graphs, resolve_graph


def _write(tmp_path: Path, body: str, name: str = "g.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


GOOD = """
import agentflow
from agentflow.testing import ScriptedModel

@agentflow.tool
def echo(text: str) -> str:
    '''Echo.'''
    return text

def make_graph():
    return agentflow.react_graph([echo])

def other():
    return agentflow.react_graph([])
"""


def test_file_with_default_factory(tmp_path: Path) -> None:
    """A file's `make_graph()` is called and its path recorded absolutely."""
    graph, ref = resolve_graph(str(_write(tmp_path, GOOD)))
    assert hasattr(graph, "compile") and ref == str((tmp_path / "g.py").resolve())


def test_file_with_named_factory(tmp_path: Path) -> None:
    """`file.py:name` picks another factory."""
    graph, ref = resolve_graph(f"{_write(tmp_path, GOOD)}:other")
    assert ref.endswith("g.py:other") and "tools" in graph.nodes


def test_bundled_name() -> None:
    """Bundled graphs are addressable by name."""
    assert "react" in bundled_graphs()
    graph, ref = resolve_graph("react")
    assert ref == "react" and "model" in graph.nodes


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: str(p / "missing.py"), "graph file not found"),
        (lambda p: str(_write(p, "def make_graph(:\n")), "syntax error"),
        (lambda p: str(_write(p, "import not_a_module_xyz\n")), "importing it failed"),
        (lambda p: str(_write(p, "x = 1\n")), "has no 'make_graph' factory"),
        (lambda p: str(_write(p, "def make_graph():\n    return 3\n")), "returned int"),
        (lambda p: str(_write(p, "def make_graph():\n    raise ValueError('boom')\n")), "boom"),
        (lambda p: f"{_write(p, GOOD)}:absent", "has no 'absent'"),
        (lambda p: "no_such_graph", "no bundled graph named 'no_such_graph'"),
        (lambda p: "bad name!", "neither a graph file"),
    ],
)
def test_bad_graph_references_are_clear_errors(tmp_path: Path, setup, message: str) -> None:
    """Every way a graph reference can be wrong gives a GraphLoadError saying what is wrong."""
    with pytest.raises(GraphLoadError, match=message):
        resolve_graph(setup(tmp_path))
