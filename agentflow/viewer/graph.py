"""A graph's structure for the view: its nodes and edges from LangGraph's `get_graph()`, laid out in layers
and drawn as inline SVG (no network, no script), with LangGraph's own mermaid text beside it.

Layers run top to bottom from `__start__`: each node sits one layer below the lowest node that leads to it
(edges back up, loops included, are drawn around the side). Conditional edges are dashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["GraphShape", "draw_svg", "load_shape", "shape_of"]

_START, _END = "__start__", "__end__"
_CHAR_W, _NODE_H, _LAYER_H, _GAP = 7.2, 30.0, 78.0, 28.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphShape:
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str, bool], ...]  # source, target, conditional
    mermaid: str


def shape_of(compiled: Any) -> GraphShape:
    """The structure of a compiled LangGraph graph."""
    drawable = compiled.get_graph()
    try:
        mermaid = drawable.draw_mermaid()
    except Exception:  # drawing text is a courtesy: the layout below does not need it
        mermaid = ""
    return GraphShape(
        nodes=tuple(str(n) for n in drawable.nodes),
        edges=tuple((str(e.source), str(e.target), bool(e.conditional)) for e in drawable.edges),
        mermaid=mermaid,
    )


def load_shape(graph_ref: str) -> GraphShape:
    """The structure of the graph a run recorded (`RunRecord.graph`: a bundled name or a file reference).
    Raises what loading raises (`GraphLoadError` for a graph that cannot be found)."""
    from agentflow.loader import resolve_graph

    builder, _ = resolve_graph(graph_ref)
    compiled = builder.compile() if hasattr(builder, "compile") else builder
    return shape_of(compiled)


def _layers(shape: GraphShape) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Each node's layer, and the edges that go back up (found by a depth-first walk from the start)."""
    succ: dict[str, list[str]] = {n: [] for n in shape.nodes}
    for s, t, _ in shape.edges:
        succ.setdefault(s, []).append(t)
        succ.setdefault(t, [])
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the walk's stack, 2 done
    roots = [_START] if _START in succ else []
    roots += [n for n in succ if n not in roots]
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack.pop()
            if i < len(succ[node]):
                stack.append((node, i + 1))
                nxt = succ[node][i]
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
    layer = {n: 0 for n in succ}
    for _ in range(len(succ)):  # longest path over the forward edges (a DAG): at most |nodes| rounds
        changed = False
        for s, t, _c in shape.edges:
            if (s, t) not in back and s != t and layer[t] < layer[s] + 1:
                layer[t], changed = layer[s] + 1, True
        if not changed:
            break
    if _END in layer:
        layer[_END] = max(layer.values()) if len(layer) > 1 else 0
        if any(layer[n] == layer[_END] for n in layer if n != _END):
            layer[_END] += 1
    return layer, back


def _label(node: str) -> str:
    return {"__start__": "start", "__end__": "end"}.get(node, node)


def draw_svg(shape: GraphShape, counts: dict[str, int] | None = None) -> str:
    """The graph as an SVG element. `counts`: per node, how many model calls an agent of that name made
    (those nodes are highlighted and labelled)."""
    counts = counts or {}
    layer, back = _layers(shape)
    rows: dict[int, list[str]] = {}
    for node in layer:
        rows.setdefault(layer[node], []).append(node)
    widths = {n: max(60.0, len(_label(n)) * _CHAR_W + 28 + (34 if counts.get(n) else 0)) for n in layer}
    row_w = {r: sum(widths[n] for n in ns) + _GAP * (len(ns) - 1) for r, ns in rows.items()}
    total_w = max(row_w.values(), default=100) + 140
    pos: dict[str, tuple[float, float]] = {}
    for r, ns in rows.items():
        x = (total_w - 100 - row_w[r]) / 2 + 20
        for n in ns:
            pos[n] = (x + widths[n] / 2, 24 + r * _LAYER_H)
            x += widths[n] + _GAP
    height = 24 + max(rows, default=0) * _LAYER_H + _NODE_H + 24
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w:.0f} {height:.0f}" '
        f'width="{total_w:.0f}" height="{height:.0f}" role="img" aria-label="graph structure">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>',
    ]
    for s, t, conditional in shape.edges:
        if s not in pos or t not in pos:
            continue
        (x1, y1), (x2, y2) = pos[s], pos[t]
        dash = ' stroke-dasharray="5 4"' if conditional else ""
        if s == t:
            half = widths[s] / 2
            d = f"M{x1 + half - 8:.1f},{y1:.1f} c 34,-14 34,44 0,{_NODE_H:.0f}"
        elif (s, t) in back or layer[t] <= layer[s]:
            side = max(widths[s], widths[t]) / 2 + 36
            d = f"M{x1 + widths[s] / 2:.1f},{y1 + _NODE_H / 2:.1f} C {x1 + side + 30:.1f},{y1 + 10:.1f} {x2 + side + 30:.1f},{y2 + 20:.1f} {x2 + widths[t] / 2:.1f},{y2 + _NODE_H / 2:.1f}"
        else:
            d = f"M{x1:.1f},{y1 + _NODE_H:.1f} C {x1:.1f},{y1 + _NODE_H + 30:.1f} {x2:.1f},{y2 - 30:.1f} {x2:.1f},{y2:.1f}"
        parts.append(
            f'<path d="{d}" fill="none" stroke="#667" stroke-width="1.3"{dash} marker-end="url(#arrow)">'
            f"<title>{escape(_label(s))} → {escape(_label(t))}{' (conditional)' if conditional else ''}</title></path>"
        )
    for n, (x, y) in pos.items():
        w = widths[n]
        terminal = n in (_START, _END)
        cls = "node terminal" if terminal else ("node ran" if counts.get(n) else "node")
        rx = _NODE_H / 2 if terminal else 6
        badge = f" \u00d7{counts[n]}" if counts.get(n) else ""
        parts.append(
            f'<g class="{cls}"><rect x="{x - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_NODE_H}" '
            f'rx="{rx:.0f}"/><text x="{x:.1f}" y="{y + _NODE_H / 2 + 4.5:.1f}" text-anchor="middle">'
            f"{escape(_label(n))}{escape(badge)}</text><title>{escape(n)}"
            f"{f' — {counts[n]} model call(s) by this agent' if counts.get(n) else ''}</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
