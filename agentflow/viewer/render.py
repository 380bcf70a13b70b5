"""A recorded run as one self-contained HTML page: `render_run(store, run_id)`."""

from __future__ import annotations

from typing import Any

from agentflow.viewer.data import build_view
from agentflow.viewer.graph import draw_svg, load_shape
from agentflow.viewer.page import render_page

__all__ = ["render_run"]


def _graph(graph_ref: str, counts: dict[str, int]) -> tuple[str | None, str, str | None]:
    """The drawing of the run's graph, or why there is none. Loading a graph may run a user's graph file
    (as `resume` does); whatever it raises only costs the drawing, never the page."""
    if graph_ref.startswith("python:"):
        return (
            None,
            "",
            "the run's graph was passed in as a Python object, so there is no file to load it from",
        )
    try:
        shape = load_shape(graph_ref)
    except Exception as exc:
        return None, "", f"{type(exc).__name__}: {exc}"
    return draw_svg(shape, counts), shape.mermaid, None


def render_run(store: Any, run_id: str, *, draw_graph: bool = True) -> str:
    """The HTML view of run `run_id` (a unique prefix is enough) from `store` (a `RunStore`): summary, graph,
    agents, budget usage over time and the timeline of steps with every message and tool call.
    `draw_graph=False` skips loading the run's graph (its file may be gone, or not to be imported)."""
    import agentflow

    record = store.get_run(run_id)
    view = build_view(record, store.events(record.id))
    svg: str | None = None
    mermaid, note = "", "not drawn (--no-graph)"
    if draw_graph:
        svg, mermaid, graph_note = _graph(
            record.graph, {name: s.model_calls for name, s in view.agents.items()}
        )
        note = graph_note or ""
    return render_page(view, graph_svg=svg, mermaid=mermaid, graph_note=note, version=agentflow.__version__)
