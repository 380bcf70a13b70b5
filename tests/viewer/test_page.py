"""The HTML page: self-contained, escaped, carrying the trace's data; drawn even when the graph is not."""

from __future__ import annotations

import json
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest

import agentflow
from agentflow.store import RunStore
from agentflow.viewer import render_run

from trace_runs import NEEDLE, SECRET, record_plan_execute, record_tool_error

pytestmark = pytest.mark.anyio

HOSTILE = "</script><script>alert(1)</script><!--"


class _Refs(HTMLParser):
    """Collects every URL-bearing attribute and the embedded data."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.data: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset", "poster")]
        if tag == "script":
            self.scripts.append(found)
            self._in = found.get("id") or "inline"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.data[self._in] = self.data.get(self._in, "") + data


def parse(html: str) -> _Refs:
    refs = _Refs()
    refs.feed(html)
    return refs


async def test_page_is_self_contained_and_carries_the_trace(db_path: Path) -> None:
    """No external URL anywhere, a CSP that forbids fetching, and the embedded data is the run's trace."""
    run_id = await record_plan_execute(db_path)
    html = render_run(RunStore(db_path), run_id)
    refs = parse(html)
    assert refs.urls == []
    assert "default-src 'none'" in html
    assert all(s.get("src") is None for s in refs.scripts) and len(refs.scripts) == 2
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)
    payload = json.loads(refs.data["run-data"])
    assert payload["run"]["id"] == run_id and payload["run"]["status"] == "succeeded"
    assert [i["model"]["step"] for i in payload["items"] if i["type"] == "step"] == list(range(1, 10))
    assert '<svg class="graph"' in html and "Budget usage" in html and "executor:s3" in html


async def test_markup_in_the_trace_stays_text(db_path: Path) -> None:
    """A tool argument and an input holding markup cannot close the data element or inject a script."""
    run_id = await record_tool_error(db_path)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE events SET data = replace(data, ?, ?) WHERE run_id = ?", (NEEDLE, HOSTILE, run_id)
        )
        conn.execute("UPDATE runs SET input = replace(input, ?, ?) WHERE id = ?", (NEEDLE, HOSTILE, run_id))
    conn.close()
    html = render_run(RunStore(db_path), run_id)
    assert HOSTILE not in html
    refs = parse(html)
    assert len(refs.scripts) == 2  # nothing injected
    payload = json.loads(refs.data["run-data"])
    assert HOSTILE in json.dumps(payload["items"])  # still there, as data
    assert "&lt;/script&gt;" in html  # the input, escaped in the summary


async def test_view_shows_what_the_trace_holds_not_other_tables(db_path: Path) -> None:
    """Redacted in the trace means redacted in the view: values kept elsewhere (journal, checkpoints) never show."""
    run_id = await record_tool_error(db_path)
    conn = sqlite3.connect(db_path)
    with conn:  # what record-time redaction leaves: the trace and run record hold the marker
        conn.execute(
            "UPDATE events SET data = replace(data, ?, '[redacted]') WHERE run_id = ?", (SECRET, run_id)
        )
        conn.execute("UPDATE runs SET input = replace(input, ?, '[redacted]') WHERE id = ?", (SECRET, run_id))
        kept = conn.execute(
            "SELECT count(*) FROM writes WHERE thread_id = ? AND instr(value, ?) > 0",
            (run_id, SECRET.encode()),
        ).fetchone()
    conn.close()
    assert kept[0] >= 1  # the secret is still in LangGraph's checkpoint writes, in the same file
    html = render_run(RunStore(db_path), run_id)
    assert SECRET not in html and "[redacted]" in html


async def test_unloadable_graph_still_gives_a_page(db_path: Path) -> None:
    """A run whose graph cannot be loaded any more gets a page that says why instead of the drawing."""
    run_id = await record_tool_error(db_path)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE runs SET graph = '/nowhere/gone.py' WHERE id = ?", (run_id,))
    conn.close()
    html = render_run(RunStore(db_path), run_id)
    assert "The graph could not be drawn: GraphLoadError" in html and '<svg class="graph"' not in html
    assert "not drawn (--no-graph)" in render_run(RunStore(db_path), run_id, draw_graph=False)


async def test_failed_and_budget_stopped_runs_are_flagged(db_path: Path) -> None:
    """A failed run shows its error in a banner and in the timeline; a budget stop names the budget."""
    from agentflow import Budget, react_graph
    from agentflow.testing import ScriptedModel

    from helpers import add, call, calls

    graph = react_graph([add])
    failed = await agentflow.run(
        graph, "add", model=ScriptedModel([calls(call("add", a=1, b=2))]), db=db_path
    )
    assert failed.status == "failed" and failed.error is not None
    html = render_run(RunStore(db_path), failed.run_id)
    assert 'id="run-error"' in html and f"The run failed: {failed.error['type']}" in html
    payload = json.loads(parse(html).data["run-data"])
    assert [i["kind"] for i in payload["items"] if i["type"] == "event"][-2:] == [
        "run_errored",
        "run_finished",
    ]
    looping = ScriptedModel([calls(call("add", a=1, b=i)) for i in range(5)])
    stopped = await agentflow.run(graph, "add", model=looping, db=db_path, budget=Budget(max_steps=2))
    assert stopped.status == "budget_exhausted"
    html = render_run(RunStore(db_path), stopped.run_id)
    assert "Budget exhausted: steps" in html and '<tr class="exhausted"><td>steps — exhausted' in html
