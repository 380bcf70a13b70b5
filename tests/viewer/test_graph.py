"""The graph drawing: nodes and edges from LangGraph's structure, laid out in layers, as well-formed SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from agentflow.exceptions import GraphLoadError
from agentflow.viewer.graph import GraphShape, _layers, draw_svg, load_shape

SVG = "{http://www.w3.org/2000/svg}"


def test_bundled_graph_is_drawn_with_every_node_and_edge() -> None:
    """plan_execute: each node is a labelled box, each edge a path (conditional ones dashed), ran nodes marked."""
    shape = load_shape("plan_execute")
    assert set(shape.nodes) == {"__start__", "plan", "execute", "replan", "write", "__end__"}
    assert "graph TD" in shape.mermaid
    root = ET.fromstring(draw_svg(shape, {"plan": 2}))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert sorted(labels) == sorted(["start", "plan \u00d72", "execute", "replan", "write", "end"])
    paths = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(paths) == len(shape.edges)
    assert sum(1 for p in paths if p.get("stroke-dasharray")) == sum(1 for e in shape.edges if e[2])
    classes = {
        (g.findtext(f"{SVG}title") or "").split(" \u2014")[0]: g.get("class") for g in root.iter(f"{SVG}g")
    }
    assert classes == {
        "__start__": "node terminal",
        "plan": "node ran",
        "execute": "node",
        "replan": "node",
        "write": "node",
        "__end__": "node terminal",
    }


def test_layers_follow_the_flow_and_loops_go_back() -> None:
    """Layers grow from start to end; an edge back to an earlier node is recognised as going back."""
    shape = GraphShape(
        nodes=("__start__", "model", "tools", "__end__"),
        edges=(
            ("__start__", "model", False),
            ("model", "tools", True),
            ("tools", "model", False),
            ("model", "__end__", True),
        ),
        mermaid="",
    )
    layer, back = _layers(shape)
    assert layer["__start__"] < layer["model"] < layer["tools"] < layer["__end__"]
    assert back == {("tools", "model")}


def test_node_names_are_escaped() -> None:
    """A node name with markup is text in the SVG, not markup."""
    shape = GraphShape(nodes=("__start__", "<b>x</b>"), edges=(("__start__", "<b>x</b>", False),), mermaid="")
    svg = draw_svg(shape)
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    ET.fromstring(svg)


def test_missing_graph_file_raises_a_load_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A run whose graph file is gone: loading says so with the library's own error."""
    with pytest.raises(GraphLoadError):
        load_shape(str(tmp_path / "gone.py"))
