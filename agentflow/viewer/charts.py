"""Budget usage for the view: a table of used / limit per budget, and an SVG chart of each budget's share used
over the run's time (from the trace: steps, tokens, tool calls and cost after each call)."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["BUDGETS", "budget_chart", "budget_table"]

#: (usage series key, budget limit key, usage record key, label, colour)
BUDGETS = (
    ("steps", "max_steps", "steps", "steps", "#3b6fd4"),
    ("tokens", "max_tokens", "tokens", "tokens", "#b5611b"),
    ("tool_calls", "max_tool_calls", "tool_calls", "tool calls", "#2f8a4c"),
    ("cost_usd", "max_cost_usd", "cost_usd", "cost (USD)", "#8a3fb0"),
)
_W, _H, _PAD_L, _PAD_B, _MAX_POINTS = 640, 190, 44, 26, 300


def _fmt(value: float) -> str:
    return (
        f"{value:,.4f}".rstrip("0").rstrip(".") if isinstance(value, float) and value % 1 else f"{value:,.0f}"
    )


def _used(usage: dict[str, Any], key: str) -> float:
    if key == "tokens":
        return float(usage.get("input_tokens", 0)) + float(usage.get("output_tokens", 0))
    return float(usage.get(key, 0) or 0)


def budget_table(usage: dict[str, Any], budget: dict[str, Any], exhausted: str | None) -> str:
    """Rows: budget, used, limit, share used (a bar); the exhausted budget marked."""
    rows = []
    limits = [(label, limit_key, _used(usage, used_key)) for _, limit_key, used_key, label, _ in BUDGETS]
    limits.append(("wall time (s)", "max_wall_s", float(usage.get("wall_s", 0) or 0)))
    names = {"max_steps": "steps", "max_tokens": "tokens", "max_tool_calls": "tool_calls"}
    names |= {"max_cost_usd": "cost", "max_wall_s": "time"}
    for label, limit_key, used in limits:
        limit = budget.get(limit_key)
        share = (used / limit) if limit else None
        hit = exhausted is not None and names[limit_key] == exhausted
        bar = (
            f'<span class="meter"><span style="width:{min(share, 1) * 100:.1f}%"></span></span> {share:.0%}'
            if share is not None
            else "no limit"
        )
        rows.append(
            f'<tr class="{"exhausted" if hit else ""}"><td>{escape(label)}{" — exhausted" if hit else ""}</td>'
            f'<td class="num">{_fmt(used)}</td><td class="num">{"-" if limit is None else _fmt(limit)}</td>'
            f"<td>{bar}</td></tr>"
        )
    return (
        '<table class="budget"><thead><tr><th>budget</th><th>used</th><th>limit</th><th>share used</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _steps(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A cumulative count as a staircase: it holds its value until the next call changes it."""
    out = points[:1]
    for t, v in points[1:]:
        out += [(t, out[-1][1]), (t, v)]
    return out


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= _MAX_POINTS:
        return points
    stride = len(points) / _MAX_POINTS
    return [points[int(i * stride)] for i in range(_MAX_POINTS)] + [points[-1]]


def budget_chart(
    series: list[tuple[float, dict[str, float]]], budget: dict[str, Any], duration: float
) -> str:
    """An SVG line chart: x = seconds since the run's first event, y = share of each limit used (0-100%)."""
    span = duration or 1.0
    plot_w, plot_h = _W - _PAD_L - 10, _H - _PAD_B - 10
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" role="img" aria-label="budget usage over time">'
    ]
    for pct in (0, 25, 50, 75, 100):
        y = 10 + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{_PAD_L}" x2="{_W - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    parts.append(f'<text x="{_PAD_L}" y="{_H - 6}">0 s</text>')
    parts.append(f'<text x="{_W - 10}" y="{_H - 6}" text-anchor="end">{span:.3g} s</text>')
    legend_x = _PAD_L + 70
    for key, limit_key, _, label, color in BUDGETS:
        limit = budget.get(limit_key)
        if not limit:
            continue
        points = _thin(_steps([(t, min(values[key] / limit, 1.05)) for t, values in series]))
        coords = " ".join(
            f"{_PAD_L + plot_w * t / span:.1f},{10 + plot_h * (1 - share):.1f}" for t, share in points
        )
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        parts.append(
            f'<rect x="{legend_x}" y="{_H - 15}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{_H - 6}">{escape(label)}</text>'
        )
        legend_x += 24 + len(label) * 7
    parts.append("</svg>")
    return "".join(parts)
