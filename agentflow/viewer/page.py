"""The run view as one self-contained HTML page: the summary, agents, budgets and graph drawn here (escaped),
the timeline drawn in the browser by `view.js` from the run's data embedded as JSON. No network: a
Content-Security-Policy forbids every fetch, and the CSS and script are inline."""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any

from agentflow.viewer.charts import budget_chart, budget_table
from agentflow.viewer.data import RunView

__all__ = ["render_page"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_HELP = """
<p>This page shows one recorded agentflow run. A <b>step</b> is one decision of a model: it reads the messages
it is sent and either calls tools or gives a final answer. Each step's tool calls are listed under it. Click a row
to see the messages the model was sent, its decision and raw output, or a tool call's arguments and the
observation the model read.</p>
<p><b>Timeline</b>: rows in the order things happened; the bar on the right shows when each model call
(blue) or tool call (green; red when it failed) ran, on the run's time axis. Plan steps, specialists and
handed-off agents each have a name and a colour; <i>#2</i> after a name means the agent's second activation
(asked again after it had answered). <b>Search</b> (press <kbd>/</kbd>) matches names, arguments, observations,
messages and answers; <kbd>Enter</kbd> jumps from match to match.</p>
<p>Values a tool marked sensitive were redacted when the run was recorded and appear as [redacted].</p>
"""


def _asset(name: str) -> str:
    return resources.files("agentflow.viewer").joinpath(name).read_text(encoding="utf-8")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _embed(payload: dict[str, Any]) -> str:
    """JSON inside a <script> element: '<' escaped so no value can close the element or open a comment."""
    return json.dumps(payload, ensure_ascii=False, default=str, separators=(",", ":")).replace("<", "\\u003c")


def _banners(record: Any) -> str:
    out = []
    if record.error:
        out.append(
            f'<div class="banner error" id="run-error"><b>The run failed: {escape(record.error.get("type", ""))}</b>'
            f" — {escape(record.error.get('message', ''))}</div>"
        )
    if record.budget_exhausted:
        out.append(
            f'<div class="banner budget"><b>Budget exhausted: {escape(record.budget_exhausted)}</b> — the run '
            "stopped before its next model or tool call; the partial result is below.</div>"
        )
    if record.pending:
        calls = "".join(
            f"<li><code>{escape(c.call_id)}</code> {escape(c.tool)} {escape(_text(c.arguments))}</li>"
            for c in record.pending
        )
        out.append(
            '<div class="banner pending"><b>Waiting for a human decision</b> on these calls '
            f"(<code>agentflow approve|reject|answer {escape(record.id)}</code>):<ul>{calls}</ul></div>"
        )
    return "".join(out)


def _agents_table(view: RunView) -> str:
    rows = []
    for name, s in sorted(view.agents.items(), key=lambda kv: kv[0]):
        rows.append(
            f'<tr><td><span class="chip" style="background:{view.colors.get(name, "#999")}"></span>'
            f'{escape(name)}</td><td class="num">{s.activations}</td><td class="num">{s.model_calls}</td>'
            f'<td class="num">{s.tool_calls}</td><td class="num">{s.errors or ""}</td>'
            f'<td class="num">{s.input_tokens:,}</td><td class="num">{s.output_tokens:,}</td>'
            f'<td class="num">{s.model_s:.3f}</td><td class="num">{s.tool_s:.3f}</td></tr>'
        )
    return (
        '<table class="agents"><thead><tr><th>agent</th><th class="num">activations</th><th class="num">model '
        'calls</th><th class="num">tool calls</th><th class="num">failed calls</th><th class="num">input tok</th>'
        '<th class="num">output tok</th><th class="num">model s</th><th class="num">tool s</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _graph_section(graph_svg: str | None, mermaid: str, note: str | None) -> str:
    if graph_svg is None:
        return f'<p class="sub">The graph could not be drawn: {escape(note or "unknown graph")}.</p>'
    text = (
        f"<details><summary>Mermaid source (LangGraph's drawing)</summary><pre>{escape(mermaid)}</pre></details>"
        if mermaid
        else ""
    )
    ran = (
        " Highlighted nodes are agents that ran in this run, with their number of model calls."
        if 'class="node ran"' in graph_svg
        else ""
    )
    return (
        f'<p class="sub">The graph\'s nodes and edges (dashed: chosen at run time).{ran}</p>{graph_svg}{text}'
    )


def render_page(
    view: RunView,
    *,
    graph_svg: str | None = None,
    mermaid: str = "",
    graph_note: str | None = None,
    version: str = "",
) -> str:
    """The whole page."""
    r = view.record
    usage = r.usage or {}
    tokens = int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
    result_label, result = ("Output", r.output) if r.output is not None else ("Partial result", r.partial)
    lineage = ""
    if r.forked_from or r.parent_id:
        lineage = f" · forked from {escape(str(r.forked_from or r.parent_id))}"
    title = f"agentflow run {r.id}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="agentflow {escape(version)}">
<title>{escape(title)}</title>
<style>{_asset("view.css")}</style></head>
<body><main>
<h1>Run <span class="mono">{escape(r.id)}</span> <span class="badge {escape(str(r.status))}" id="status">{escape(str(r.status))}</span></h1>
<div class="sub">graph <b>{escape(r.graph)}</b> · model {escape(r.model or "graph default (demo)")} · created {escape(r.created_at[:19].replace("T", " "))} UTC
 · {usage.get("steps", 0)} steps · {usage.get("tool_calls", 0)} tool calls · {tokens:,} tokens · {float(usage.get("wall_s", 0) or 0):.2f} s
 · {view.event_count:,} events{lineage}</div>
<details class="help"><summary>How to read this page</summary><div>{_HELP}</div></details>
{_banners(r)}
<div class="io"><div><h3>Input</h3><pre id="input">{escape(_text(r.input))}</pre></div>
<div><h3>{result_label}</h3><pre id="output">{escape(_text(result)) if result is not None else "(none)"}</pre></div></div>
<div class="cols">
<section><h2>Agents</h2>{_agents_table(view)}</section>
<section><h2>Budget usage</h2>{budget_table(usage, r.budget or {}, r.budget_exhausted)}
{budget_chart(view.usage_series, r.budget or {}, view.duration)}</section>
</div>
<section><h2>Graph</h2>{_graph_section(graph_svg, mermaid, graph_note)}</section>
<section><h2>Timeline</h2>
<div class="toolbar"><input type="search" id="search" placeholder="Search this run: tools, arguments, messages, answers  ( / )" aria-label="search">
<select id="agent" aria-label="agent"><option value="">all agents</option></select>
<label><input type="checkbox" id="errors"> errors only</label>
<button id="collapse" type="button">collapse all</button> <span id="count"></span></div>
<div class="row head"><span></span><span>step</span><span>agent / tool</span><span>what happened</span><span class="n">tokens in+out</span><span class="n">latency</span><div class="axis-cell"><div class="axis" id="axis"></div></div></div>
<div id="rows"></div>
<noscript><p>The timeline needs JavaScript (it is inline in this file; nothing is fetched).</p></noscript>
</section>
<p class="sub">Written by agentflow {escape(version)} from the run's trace. This file is self-contained: it loads nothing from the network.</p>
</main>
<script type="application/json" id="run-data">{_embed(view.payload())}</script>
<script>{_asset("view.js")}</script>
</body></html>
"""
