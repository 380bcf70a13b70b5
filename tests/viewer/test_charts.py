"""Budget usage: the table of used / limit and the chart of each budget's share over time."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from agentflow.viewer.charts import budget_chart, budget_table

SVG = "{http://www.w3.org/2000/svg}"


def test_table_marks_the_exhausted_budget_and_unlimited_ones() -> None:
    """The budget that stopped the run is marked; a budget without a limit says so instead of a share."""
    usage = {
        "steps": 5,
        "input_tokens": 70,
        "output_tokens": 30,
        "tool_calls": 2,
        "cost_usd": 0.0,
        "wall_s": 1.5,
    }
    html = budget_table(usage, {"max_steps": 5, "max_tokens": 1000, "max_tool_calls": None}, "steps")
    assert (
        '<tr class="exhausted"><td>steps — exhausted</td><td class="num">5</td><td class="num">5</td>' in html
    )
    assert '<td>tokens</td><td class="num">100</td><td class="num">1,000</td>' in html and "10%" in html
    assert html.count("no limit") == 3  # tool calls, cost, wall time


def test_chart_draws_one_staircase_per_limited_budget() -> None:
    """Each budget with a limit is one line that only rises at calls; long runs are thinned to a few hundred points."""
    series = [
        (float(i), {"steps": i, "tokens": 10.0 * i, "tool_calls": i // 2, "cost_usd": 0.0})
        for i in range(2000)
    ]
    root = ET.fromstring(budget_chart(series, {"max_steps": 4000, "max_tokens": 40000}, 2000.0))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    points = [tuple(map(float, p.split(","))) for p in (lines[0].get("points") or "").split()]
    assert 2 < len(points) <= 302
    ys = [y for _, y in points]
    assert ys == sorted(ys, reverse=True)  # SVG y grows downwards: usage never falls
    small = list(ET.fromstring(budget_chart(series[:3], {"max_steps": 10}, 2.0)).iter(f"{SVG}polyline"))
    assert len((small[0].get("points") or "").split()) == 5  # 3 points as a staircase: 1 + 2 x 2
