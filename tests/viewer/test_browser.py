"""The run view in a real headless Chromium: it loads cleanly and offline, shows the steps, opens a step's
messages, finds a tool call by search and highlights errors. Screenshots go to artifacts/viewer/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentflow.store import RunStore
from agentflow.viewer import render_run

from trace_runs import NEEDLE, record_approval, record_plan_execute, record_tool_error

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "viewer"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Recorded runs written as HTML files: plan-and-execute, a ReAct run with a failed tool call, and a run
    paused for approval and continued."""
    db = tmp_path_factory.mktemp("runs") / "runs.db"
    out = {}
    recorders = {
        "plan_execute": record_plan_execute,
        "tool_error": record_tool_error,
        "approval": record_approval,
    }
    for name, record in recorders.items():
        run_id = anyio.run(record, db)
        path = db.parent / f"{name}.html"
        path.write_text(render_run(RunStore(db), run_id), encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture
def page(pages: dict[str, Path], browser: Any) -> Iterator[Any]:
    """A fresh page that records console messages, page errors and any network request. (`pages` first: the
    runs are recorded on an event loop of their own before playwright starts its loop.)"""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.problems = []
    tab.on(
        "console",
        lambda m: (
            tab.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    tab.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(("file:", "data:", "about:"))
            else tab.problems.append(f"request {r.url}")
        ),
    )
    try:
        yield tab
    finally:
        context.close()


def open_view(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_loads_without_errors_or_network_and_shows_every_step(page: Any, pages: dict[str, Path]) -> None:
    """The plan-and-execute view loads with no console error and no request; its 9 steps and 3 tool calls show."""
    open_view(page, pages["plan_execute"])
    assert page.locator(".row.step").count() == 9
    assert page.locator(".row.tool").count() == 3
    assert page.locator("#status").inner_text() == "succeeded"
    assert page.locator("svg.graph .node").count() == 6  # start, plan, execute, replan, write, end
    assert page.locator("#count").inner_text() == "17 of 17 entries shown"  # (with 3 sub-agents' start / end)
    shot(page, "plan_execute")
    assert page.problems == []


def test_expanding_a_step_shows_its_messages_and_decision(page: Any, pages: dict[str, Path]) -> None:
    """Clicking a step opens the messages the model was sent and its decision; earlier messages on demand."""
    open_view(page, pages["tool_error"])
    steps = page.locator(".row.step")
    steps.nth(0).click()
    detail = page.locator(".detail").first
    assert detail.is_visible()
    assert "You look orders up." in detail.inner_text() and f"When does {NEEDLE} ship?" in detail.inner_text()
    assert "Tool call call_1_0: lookup_order" in detail.inner_text()
    steps.nth(2).click()
    last = page.locator(".detail").last
    assert "You look orders up." not in last.inner_text()  # only the new messages at first
    last.locator("button.more").click()
    assert "You look orders up." in last.inner_text()
    assert f"Order {NEEDLE} ships Friday." in last.inner_text()
    shot(page, "step_open")
    assert page.problems == []


def test_search_finds_the_tool_call(page: Any, pages: dict[str, Path]) -> None:
    """Searching for an argument highlights the tool call that has it and hides the rows that don't mention it."""
    open_view(page, pages["tool_error"])
    page.fill("#search", NEEDLE)
    page.press("#search", "Enter")
    tool_hits = page.locator(".row.tool.hit")
    assert tool_hits.count() == 1 and f"order_id={NEEDLE}" in tool_hits.first.inner_text()
    assert tool_hits.first.is_visible()
    assert "hit" not in (page.locator(".row.tool.err").get_attribute("class") or "")  # the other call
    page.fill("#search", "A-1234567890123")  # only the failed call and the decision that made it
    page.press("#search", "Enter")
    visible = page.locator(".group:not([hidden])")
    assert visible.count() == 2 and page.locator(".row.tool.err.hit").count() == 1
    assert "2 of 5 entries shown" in page.locator("#count").inner_text()
    page.fill("#search", "no such text anywhere")
    page.press("#search", "Enter")
    assert visible.count() == 0
    assert page.problems == []


def test_errors_are_highlighted_and_filterable(page: Any, pages: dict[str, Path]) -> None:
    """A failed tool call is a red row, and 'errors only' shows just the step that holds it."""
    open_view(page, pages["tool_error"])
    failed = page.locator(".row.tool.err")
    assert failed.count() == 1 and "invalid arguments" in failed.inner_text()
    page.check("#errors")
    visible = page.locator(".group:not([hidden])")
    assert visible.count() == 1 and visible.locator(".row.tool.err").count() == 1
    shot(page, "errors_only")
    assert page.problems == []


def test_approvals_and_resumes_show_between_the_executions(page: Any, pages: dict[str, Path]) -> None:
    """The paused-and-approved run shows the human's decision and the resume as rows, marked for attention."""
    open_view(page, pages["approval"])
    marked = page.locator(".row.event.warn")
    assert marked.count() == 1 and "human decision on refund (call_1_0): approve" in marked.inner_text()
    texts = page.locator(".row.event .what").all_inner_texts()
    assert [t.split(" ")[0] for t in texts] == ["run", "finished:", "human", "resumed", "finished:"]
    assert page.problems == []
