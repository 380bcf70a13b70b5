"""Debugging recorded runs (issue 19). The `replay` part: replay time per step against the original run's time
per step (a ReAct run with a real tool and a model of fixed latency, and the bundled plan-and-execute graph),
offline, from the recording. The `view` part: the HTML view's size, its render time in Python, and its
load time in headless Chromium (Debian's `chromium`, driven by playwright) for runs of about 100 and 5,000
events. Prints numbers; asserts nothing.

    .venv/bin/python bench/replay.py replay [--steps 32] [--latency 0.05] [--repeat 3]
    .venv/bin/python bench/replay.py view [--loads 3] [--events 5000] [--keep DIR]

The 100-event run goes through the real Runner (a ReAct graph, a scripted model, a real tool); the 5,000-event
run is written through the runner's own trace writer (a planner, pairs of parallel executor sub-agents, a
writer; one tool call in 37 fails; an approval), which is what a long run's trace looks like to the viewer.
"Ready" is when the page's script has built every row (from navigation start); "painted" is two animation
frames later; "search" is typing a query until the rows are filtered; "expand" opens one step's messages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

import agentflow
from agentflow.events import ApprovalDecided, ModelCalled, RunFinished, RunStarted, StepStarted, ToolCalled
from agentflow.status import RunStatus
from agentflow.store import NewRun, RunStore
from agentflow.testing import ScriptedModel
from agentflow.viewer import render_run

CHROMIUM = "/usr/bin/chromium"
TEXT = "The warehouse in Rotterdam reports 1,240 units of X-1; the order book says 310 are promised. " * 2


@agentflow.tool(read_only=True)
def stock_level(sku: str, site: str) -> dict[str, Any]:
    """How many units of a product are in stock at a site."""
    return {"sku": sku, "site": site, "units": 1240, "note": TEXT[:120]}


async def record_small(db: Path, steps: int = 32) -> str:
    """A ReAct run through the real Runner: `steps` tool-calling decisions and an answer (~3 events each)."""
    decisions: list[dict[str, Any]] = [
        {
            "reasoning": f"check site {i}",
            "tool_calls": [{"name": "stock_level", "arguments": {"sku": "X-1", "site": f"site-{i}"}}],
        }
        for i in range(steps)
    ]
    decisions.append({"reasoning": "done", "final_answer": "X-1: 1240 units at every site."})
    graph = agentflow.react_graph([stock_level], system_prompt="You run a warehouse. " + TEXT)
    result = await agentflow.run(
        graph,
        "How many X-1 are left at each site?",
        model=ScriptedModel(decisions),
        db=db,
        budget=agentflow.Budget(max_steps=steps + 5, max_tool_calls=steps + 5),
    )
    assert result.status == "succeeded", result
    return result.run_id


def _model(
    run_id: str, agent: str, step: int, messages: list[dict[str, Any]], start: int, call: Any
) -> ModelCalled:
    decision = {"reasoning": f"step {step}: next", "tool_calls": [call] if call else [], "final_answer": None}
    if not call:
        decision["final_answer"] = {"status": "done", "result": f"result of {agent}"}
    return ModelCalled(
        run_id=run_id, agent=agent, step=step, model="scripted", messages=messages, messages_from=start,
        raw_text=str(decision), decision=decision, input_tokens=300 + 40 * len(messages), output_tokens=40,
        cost_usd=0.0, latency_s=0.002, task=f"{agent}|{step}",
    )  # fmt: skip


async def record_large(db: Path, target_events: int) -> str:
    """A synthetic plan-and-execute-shaped trace of about `target_events` events, written by the runner's
    trace writer: pairs of executors interleave as parallel plan steps do."""
    run_id = agentflow.new_run_id()
    async with agentflow.Runner(db) as runner:
        storage = runner.storage
        started = RunStarted(
            run_id=run_id, graph="plan_execute", input="Audit stock at every site.", model="x"
        )
        new = NewRun(
            run_id=run_id, graph="plan_execute", input=started.input, model="scripted", settings={}, seed=None,
            budget=agentflow.Budget(max_steps=100_000, max_tokens=10**9, max_tool_calls=100_000).as_dict(),
        )  # fmt: skip
        lease = await storage.create_run(new, owner=runner.owner, events=[started])
        step, count, pair = 0, 1, 0
        usage = {
            "steps": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "tool_calls": 0,
            "cost_usd": 0.0,
            "wall_s": 0.0,
        }
        while count < target_events - 2:
            pair += 1
            agents = [f"executor:s{2 * pair - 1}", f"executor:s{2 * pair}"]
            history = {
                a: [{"role": "system", "content": TEXT}, {"role": "user", "content": f"Step {a}: {TEXT}"}]
                for a in agents
            }
            for round_ in range(3):  # two tool calls and an answer per executor, the two interleaved
                batch: list[Any] = []
                for a in agents:
                    step += 1
                    call = {
                        "name": "stock_level",
                        "arguments": {"sku": "X-1", "site": f"{a}-{round_}"},
                        "id": f"call_{step}_0",
                    }
                    last = round_ == 2
                    new = history[a] if round_ == 0 else history[a][-2:]
                    start = 0 if round_ == 0 else len(history[a]) - 2
                    model = _model(run_id, a, step, new, start, None if last else call)
                    batch += [StepStarted(run_id=run_id, agent=a, step=step), model]
                    usage["steps"] += 1
                    usage["input_tokens"] += model.input_tokens
                    usage["output_tokens"] += model.output_tokens
                    if not last:
                        failed = step % 37 == 0
                        content = (
                            "invalid arguments: site unknown"
                            if failed
                            else json.dumps({"units": 1240, "note": TEXT[:120]})
                        )
                        batch.append(
                            ToolCalled(
                                run_id=run_id,
                                agent=a,
                                step=step,
                                call_id=call["id"],
                                tool="stock_level",
                                arguments=call["arguments"],
                                content=content,
                                is_error=failed,
                                error_type="invalid_arguments" if failed else None,
                                result=None,
                                attempts=1,
                                latency_s=0.001,
                                decision=model.task,
                            )
                        )
                        usage["tool_calls"] += 1
                        history[a] += [
                            {
                                "role": "assistant",
                                "content": model.raw_text,
                                "tool_calls": [call],
                                "reasoning": "next",
                            },
                            {
                                "role": "tool",
                                "content": content,
                                "tool_call_id": call["id"],
                                "name": "stock_level",
                            },
                        ]
                count += len(batch)
                storage.record(lease, batch, usage)
                await storage.flush(lease)
            if pair == 5:
                approval = ApprovalDecided(
                    run_id=run_id, call_id="call_9_0", tool="stock_level", decision={"action": "approve"}
                )
                storage.record(lease, [approval], usage)
                count += 1
        final = RunFinished(run_id=run_id, status="succeeded", output="audited", usage=usage)
        await storage.finish_run(
            lease, status=RunStatus.SUCCEEDED, output="audited", partial=None, usage=usage, budget_exhausted=None,
            error=None, events=[final],
        )  # fmt: skip
    return run_id


def measure_load(browser: Any, path: Path, loads: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {
        "ready_ms": [],
        "painted_ms": [],
        "wall_ms": [],
        "search_ms": [],
        "expand_ms": [],
    }
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        t0 = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        painted = page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
        )
        samples["wall_ms"].append((time.perf_counter() - t0) * 1000)
        samples["painted_ms"].append(painted)
        samples["ready_ms"].append(
            page.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
        )
        t1 = time.perf_counter()
        page.locator(".row.step").last.click()
        page.wait_for_selector(".detail")
        samples["expand_ms"].append((time.perf_counter() - t1) * 1000)
        search = page.evaluate(
            """() => { const s = document.getElementById('search'); const t = performance.now();
                s.value = 'site-3'; s.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
                return performance.now() - t; }"""
        )
        samples["search_ms"].append(search)
        if errors:
            raise SystemExit(f"page errors: {errors}")
        context.close()
    return {k: statistics.median(v) for k, v in samples.items()}


def view(loads: int, events: int, keep: Path | None) -> None:
    from playwright.sync_api import sync_playwright

    folder = keep or Path(tempfile.mkdtemp(prefix="agentflow-bench-view-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "runs.db"
    runs = {"small": anyio.run(record_small, db), "large": anyio.run(record_large, db, events)}
    store = RunStore(db)
    print(
        f"{'run':<6} {'events':>7} {'html KiB':>9} {'render s':>9} {'ready ms':>9} {'painted ms':>11} {'wall ms':>8} {'search ms':>10} {'expand ms':>10}"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for name, run_id in runs.items():
            t = time.perf_counter()
            html = render_run(store, run_id)
            render_s = time.perf_counter() - t
            path = folder / f"{name}.html"
            path.write_text(html, encoding="utf-8")
            n = len(store.events(run_id))
            m = measure_load(browser, path, loads)
            print(
                f"{name:<6} {n:>7} {len(html.encode()) / 1024:>9,.0f} {render_s:>9.2f} {m['ready_ms']:>9.0f} "
                f"{m['painted_ms']:>11.0f} {m['wall_ms']:>8.0f} {m['search_ms']:>10.1f} {m['expand_ms']:>10.0f}"
            )
        browser.close()
    print(f"(medians of {loads} loads; files in {folder})")


async def _replay_numbers(steps: int, latency: float, repeat: int) -> None:
    from agentflow.testing import FunctionModel

    decisions: list[dict[str, Any]] = [
        {
            "reasoning": f"check site {i}",
            "tool_calls": [{"name": "stock_level", "arguments": {"sku": "X-1", "site": f"site-{i}"}}],
        }
        for i in range(steps)
    ]
    decisions.append({"reasoning": "done", "final_answer": "X-1: 1240 units at every site."})

    async def decide(request: Any) -> dict[str, Any]:
        await anyio.sleep(latency)  # what a real model's decision costs, roughly
        return decisions[sum(1 for m in request.messages if m["role"] == "assistant")]

    graph = agentflow.react_graph([stock_level], system_prompt="You run a warehouse. " + TEXT)
    budget = agentflow.Budget(max_steps=steps + 5, max_tool_calls=steps + 5)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        rows = []
        for _ in range(repeat):
            started = time.perf_counter()
            run = await agentflow.run(
                graph, "How many X-1?", model=FunctionModel(decide), db=db, budget=budget
            )
            original = time.perf_counter() - started
            started = time.perf_counter()
            outcome = await agentflow.replay(run.run_id, db=db, graph=graph)
            replayed = time.perf_counter() - started
            assert outcome.diverged is None, outcome.diverged
            rows.append((original, replayed, run.usage["steps"]))
        original, replayed, n = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"ReAct, {int(n)} steps, model latency {latency * 1000:.0f} ms (median of {repeat}):")
        print(
            f"  original {original * 1000 / n:7.1f} ms/step   replay {replayed * 1000 / n:7.1f} ms/step   "
            f"({original / replayed:.1f}x faster)"
        )
        plan = (
            f"scripted:{Path(__file__).resolve().parents[1] / 'examples' / 'scripted' / 'plan_execute.json'}"
        )
        rows = []
        for _ in range(repeat):
            started = time.perf_counter()
            run = await agentflow.run(
                "plan_execute", "Convert 5 km to miles and add 17 * 23", model=plan, db=db
            )
            original = time.perf_counter() - started
            started = time.perf_counter()
            outcome = await agentflow.replay(run.run_id, db=db)
            replayed = time.perf_counter() - started
            assert outcome.diverged is None, outcome.diverged
            rows.append((original, replayed, run.usage["steps"]))
        original, replayed, n = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"plan_execute (scripted model, parallel steps), {int(n)} steps (median of {repeat}):")
        print(f"  original {original * 1000 / n:7.1f} ms/step   replay {replayed * 1000 / n:7.1f} ms/step")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["view", "replay"], nargs="?", default="view")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--keep", type=Path, default=None, help="Write the database and pages here.")
    args = parser.parse_args()
    if args.part == "view":
        view(args.loads, args.events, args.keep)
    else:
        anyio.run(_replay_numbers, args.steps, args.latency, args.repeat)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
