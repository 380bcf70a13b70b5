"""Evaluate the demo model through the real ReAct graph: task success per tool, tool-call validity, time per task.

    python bench/demo_eval.py                     # 200 generated tasks per tool + the paraphrase set
    python bench/demo_eval.py --n 25 --skills calculator,notes
    python bench/demo_eval.py --model /tmp/demo-quick --json /tmp/eval.json

Every task is one `Runner.run` of the bundled `react` graph (default budget, greedy decoding) with
`TransformersModel(<model dir>)`, i.e. constrained decoding under the tools' schemas, real tool calls and the
run database, exactly what `agentflow run react --input ...` does.

Tasks:
- generated: `tasks.eval_tasks` (scripts/demo_model/tasks.py), with a seed the training never used, drawing on
  every wording including the held-out ones, and skipping any request that is also a training request
  (the training set is regenerated from training.json's seed and size);
- paraphrases: scripts/demo_model/paraphrases.jsonl, hand-written, never trained on (checked here: none of them
  is a training request).

Success:
- calculator / convert_units: the number in the final answer (after its last "=", else its last number)
  equals the expected value (calculator: exact to 1e-6 relative; conversion: 1e-4, the tool rounds to 6 digits);
- current_time: the final answer carries the tool's observation (the ISO time the tool returned); the zone
  being the expected one is reported separately;
- notes: a note is written in one run (write_note called) and a *later* run, asked for it, answers with the
  key fact (its database holds that note and two unrelated ones);
- out of scope (reported, not a goal): the run ends cleanly (succeeded or budget stop).

Tool-call validity: every tool call in every model decision of the trace (the run database's `model_decision`
events) names an offered tool and its arguments validate against the tool's JSON schema (jsonschema).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts" / "demo_model"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import tasks as task_gen  # noqa: E402

DEFAULT_MODEL = REPO / "agentflow" / "models" / "demo"
PARAPHRASES = REPO / "scripts" / "demo_model" / "paraphrases.jsonl"
SKILLS = ("calculator", "convert_units", "current_time", "notes", "out_of_scope")
GOALS = {"generated": 0.90, "paraphrases": 0.80}

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def answer_number(answer: Any) -> float | None:
    """The number an answer gives: the first number after its last '=', else its last number."""
    if not isinstance(answer, str):
        return None
    tail = answer.rsplit("=", 1)[-1] if "=" in answer else answer
    numbers = _NUMBER.findall(tail)
    if not numbers:
        return None
    return float(numbers[0] if "=" in answer else numbers[-1])


def close(a: float | None, b: float, rel: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=rel)


class Evaluator:
    def __init__(self, model_dir: Path, workdir: Path, verbose: bool) -> None:
        import jsonschema

        from agentflow.models.transformers import TransformersModel
        from agentflow.toolkit import DEFAULT_TOOLS

        self.model = TransformersModel(model_dir)
        self.model.load()
        self.workdir = workdir
        self.verbose = verbose
        self.validators = {t.name: jsonschema.Draft202012Validator(t.parameters) for t in DEFAULT_TOOLS}
        self.calls_total = 0
        self.calls_valid = 0
        self.invalid: list[dict[str, Any]] = []
        self.run_seconds: list[float] = []

    async def run(self, request: str, db: Path) -> dict[str, Any]:
        """One run of the react graph; the final answer, the model's tool calls, the observations, the time."""
        import agentflow
        from agentflow.store.runs import RunStore

        started = time.perf_counter()
        async with agentflow.Runner(db) as runner:
            result = await runner.run("react", request, model=self.model)
        seconds = time.perf_counter() - started
        self.run_seconds.append(seconds)
        store = RunStore(db)
        try:
            events = store.events(result.run_id)
        finally:
            store.close()
        calls, observations = [], []
        for event in events:
            if event.kind == "model_decision":
                for call in (event.data.get("decision") or {}).get("tool_calls") or []:
                    calls.append(call)
                    self._check_call(call, request)
            elif event.kind == "tool_result":
                observations.append({"tool": event.data["tool"], "content": event.data["content"],
                                     "is_error": event.data["is_error"]})
        return {"request": request, "status": result.status, "output": result.output, "calls": calls,
                "observations": observations, "seconds": round(seconds, 3), "steps": result.usage.get("steps")}

    def _check_call(self, call: dict[str, Any], request: str) -> None:
        self.calls_total += 1
        validator = self.validators.get(call.get("name"))
        errors = ["unknown tool"] if validator is None else [e.message for e in validator.iter_errors(call.get("arguments", {}))]
        if errors:
            self.invalid.append({"request": request, "call": call, "errors": errors})
        else:
            self.calls_valid += 1

    # ------------------------------------------------------------------------------------------------ tasks

    async def calculator(self, request: str, expected: float, db: Path) -> dict[str, Any]:
        record = await self.run(request, db)
        record["expected"] = expected
        record["ok"] = record["status"] == "succeeded" and close(answer_number(record["output"]), expected, 1e-6)
        return record

    async def convert_units(self, request: str, expected: float, db: Path) -> dict[str, Any]:
        record = await self.run(request, db)
        record["expected"] = expected
        record["ok"] = record["status"] == "succeeded" and close(answer_number(record["output"]), expected, 1e-4)
        return record

    async def current_time(self, request: str, zone: str, db: Path) -> dict[str, Any]:
        record = await self.run(request, db)
        seen = [o["content"] for o in record["observations"] if o["tool"] == "current_time" and not o["is_error"]]
        output = record["output"] if isinstance(record["output"], str) else ""
        record["expected"] = zone
        record["ok"] = record["status"] == "succeeded" and bool(seen) and seen[-1] in output
        zones = [c["arguments"].get("timezone", "UTC") for c in record["calls"] if c.get("name") == "current_time"]
        record["right_zone"] = bool(zones) and _same_zone(zones[-1], zone)
        return record

    async def notes(self, write: str, search: str, key: str, distractors: list[str], db: Path) -> dict[str, Any]:
        await _store_notes(distractors, db)
        first = await self.run(write, db)
        second = await self.run(search, db)
        wrote = any(c.get("name") == "write_note" for c in first["calls"])
        output = second["output"] if isinstance(second["output"], str) else ""
        ok = (first["status"] == "succeeded" and wrote and second["status"] == "succeeded"
              and key.lower() in output.lower())
        return {"request": write, "later_request": search, "expected": key, "ok": ok, "write_run": first,
                "search_run": second, "seconds": round(first["seconds"] + second["seconds"], 3)}

    async def out_of_scope(self, request: str, db: Path) -> dict[str, Any]:
        record = await self.run(request, db)
        record["ok"] = record["status"] in ("succeeded", "budget_exhausted")
        record["direct_answer"] = record["status"] == "succeeded" and not record["calls"]
        return record


def _same_zone(given: str, expected: str) -> bool:
    from agentflow.toolkit.clock import resolve_zone

    try:
        return resolve_zone(given).key == resolve_zone(expected).key
    except Exception:
        return False


async def _store_notes(texts: list[str], db: Path) -> None:
    """Write notes straight through the tool (no model), as earlier runs would have."""
    from agentflow.messages import ToolCall
    from agentflow.toolkit import DEFAULT_TOOLS
    from agentflow.tooling.context import RunContext
    from agentflow.tooling.execute import execute_call

    tools = {t.name: t for t in DEFAULT_TOOLS}
    for i, text in enumerate(texts):
        call = ToolCall(name="write_note", arguments={"text": text}, id=f"setup_{i}")
        await execute_call(call, tools, RunContext(run_id=f"setup{i}", db_path=db))


# ------------------------------------------------------------------------------------------------ task lists

def training_requests(model_dir: Path) -> set[str]:
    info_path = model_dir / "training.json"
    if not info_path.exists():
        print(f"warning: {info_path} missing; cannot exclude training requests", file=sys.stderr)
        return set()
    args = json.loads(info_path.read_text())["args"]
    return task_gen.training_requests(args["seed"], args["tasks"])


def distractor_notes(rng: Any, avoid: str) -> list[str]:
    words = {w.lower() for w in re.findall(r"\w+", avoid)}
    out = []
    while len(out) < 2:
        fact, _, query, _ = task_gen._fact(rng)
        if not words & {w.lower() for w in re.findall(r"\w+", query)}:
            out.append(fact)
    return out


def generated(skill: str, n: int, seed: int, exclude: set[str]) -> list[dict[str, Any]]:
    import random

    from agentflow.exceptions import ToolError
    from agentflow.toolkit.calculator import evaluate
    from agentflow.toolkit.units import convert

    if skill == "out_of_scope":
        n = min(n, len(task_gen._OUT_OF_SCOPE))
        pool = [r for r in task_gen._OUT_OF_SCOPE if task_gen.normalise(r) not in {task_gen.normalise(e) for e in exclude}]
        return [{"skill": skill, "request": r} for r in pool[:n]]
    rng = random.Random(f"distractors-{seed}")
    items = []
    # a few spare conversion tasks: one the tool itself refuses (below absolute zero) has no right number
    spare = n // 10 + 5 if skill == "convert_units" else 0
    for task in task_gen.eval_tasks(skill, n + spare, seed=seed, exclude=exclude):
        if len(items) == n:
            break
        if skill == "calculator":
            items.append({"skill": skill, "request": task.request, "expected": evaluate(task.call["arguments"]["expression"])})
        elif skill == "convert_units":
            a = task.call["arguments"]
            try:
                expected = convert(a["value"], a["from_unit"], a["to_unit"])["value"]
            except ToolError:
                continue
            items.append({"skill": skill, "request": task.request, "expected": expected})
        elif skill == "current_time":
            items.append({"skill": skill, "request": task.request, "timezone": task.expected})
        elif skill == "notes":
            items.append({"skill": skill, "write": task.request, "search": task.meta["search_request"],
                          "key": task.meta["key"], "distractors": distractor_notes(rng, task.meta["query"])})
    return items


def paraphrases(path: Path, exclude: set[str]) -> list[dict[str, Any]]:
    import random

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    excluded = {task_gen.normalise(r) for r in exclude}
    leaked = [r for row in rows for r in (row.get("request"), row.get("write"), row.get("search"))
              if r and task_gen.normalise(r) in excluded]
    if leaked:
        raise SystemExit(f"paraphrases occur in the training requests: {leaked}")
    rng = random.Random("paraphrase-distractors")
    for row in rows:
        if row["skill"] == "notes":
            row["distractors"] = distractor_notes(rng, row["search"])
    return rows


# ------------------------------------------------------------------------------------------------------ main

async def evaluate_items(ev: Evaluator, items: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    out = []
    started = time.perf_counter()
    for i, item in enumerate(items):
        db = ev.workdir / f"{label}-{i}.db"
        skill = item["skill"]
        if skill == "calculator":
            record = await ev.calculator(item["request"], item["expected"], db)
        elif skill == "convert_units":
            record = await ev.convert_units(item["request"], item["expected"], db)
        elif skill == "current_time":
            record = await ev.current_time(item["request"], item["timezone"], db)
        elif skill == "notes":
            record = await ev.notes(item["write"], item["search"], item["key"], item.get("distractors", []), db)
        else:
            record = await ev.out_of_scope(item["request"], db)
        record["skill"] = skill
        out.append(record)
        db.unlink(missing_ok=True)
        if ev.verbose and not record["ok"]:
            shown = {k: record.get(k) for k in ("request", "later_request", "expected", "output", "calls")}
            if skill == "notes":
                shown["write"] = {k: record["write_run"].get(k) for k in ("output", "calls")}
                shown["search"] = {k: record["search_run"].get(k) for k in ("output", "calls")}
            print(f"  FAIL {json.dumps(shown, ensure_ascii=False)}", flush=True)
        if (i + 1) % 25 == 0 or i + 1 == len(items):
            ok = sum(r["ok"] for r in out)
            print(f"  {label}: {i + 1}/{len(items)} done, {ok} ok, {time.perf_counter() - started:.0f} s", flush=True)
    return out


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault(r["skill"], []).append(r)
    summary: dict[str, Any] = {}
    for skill, rows in by.items():
        entry: dict[str, Any] = {"n": len(rows), "success": round(sum(r["ok"] for r in rows) / len(rows), 4),
                                 "median_s": round(statistics.median(r["seconds"] for r in rows), 2)}
        if skill == "current_time":
            entry["right_zone"] = round(sum(r["right_zone"] for r in rows) / len(rows), 4)
        if skill == "out_of_scope":
            entry["direct_answer"] = round(sum(r["direct_answer"] for r in rows) / len(rows), 4)
        summary[skill] = entry
    scored = [r for r in records if r["skill"] != "out_of_scope"]
    if scored:
        summary["all tools"] = {"n": len(scored), "success": round(sum(r["ok"] for r in scored) / len(scored), 4),
                                "median_s": round(statistics.median(r["seconds"] for r in scored), 2)}
    return summary


def print_table(title: str, summary: dict[str, Any], goal: float | None) -> None:
    print(f"\n{title}" + (f" (goal: success >= {goal:.0%})" if goal else ""))
    print(f"  {'skill':<14} {'n':>4} {'success':>8} {'median s/task':>14}  notes")
    for skill, e in summary.items():
        extra = ""
        if "right_zone" in e:
            extra = f"right zone {e['right_zone']:.1%}"
        if "direct_answer" in e:
            extra = f"ended cleanly; answered without a tool {e['direct_answer']:.1%}"
        print(f"  {skill:<14} {e['n']:>4} {e['success']:>8.1%} {e['median_s']:>14.2f}  {extra}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    skills = [s.strip() for s in args.skills.split(",") if s.strip()]
    unknown = set(skills) - set(SKILLS)
    if unknown:
        raise SystemExit(f"unknown skills: {', '.join(sorted(unknown))}; choose from {', '.join(SKILLS)}")
    exclude = training_requests(args.model)
    items: list[dict[str, Any]] = []
    for skill in skills:
        items += generated(skill, args.n if skill != "out_of_scope" else min(args.n, args.n_out_of_scope), args.seed, exclude)
    para = [] if args.no_paraphrases else [p for p in paraphrases(args.paraphrases, exclude) if p["skill"] in skills]
    if args.limit_paraphrases:
        para = para[: args.limit_paraphrases]
    print(f"model {args.model}; {len(items)} generated tasks, {len(para)} paraphrases", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        ev = Evaluator(args.model, Path(tmp), args.verbose)
        started = time.perf_counter()
        gen_records = await evaluate_items(ev, items, "generated") if items else []
        para_records = await evaluate_items(ev, para, "paraphrases") if para else []
        wall = time.perf_counter() - started
    report = {
        "model": str(args.model),
        "generated": summarise(gen_records) if gen_records else {},
        "paraphrases": summarise(para_records) if para_records else {},
        "tool_calls": {"total": ev.calls_total, "valid": ev.calls_valid,
                       "validity": round(ev.calls_valid / ev.calls_total, 4) if ev.calls_total else None,
                       "invalid_examples": ev.invalid[:10]},
        "median_s_per_run": round(statistics.median(ev.run_seconds), 2) if ev.run_seconds else None,
        "wall_s": round(wall, 1),
    }
    if report["generated"]:
        print_table("Generated tasks (not seen in training)", report["generated"], GOALS["generated"])
    if report["paraphrases"]:
        print_table("Hand-written paraphrases (never trained on)", report["paraphrases"], GOALS["paraphrases"])
    tc = report["tool_calls"]
    print(f"\ntool-call validity: {tc['valid']}/{tc['total']}" + (f" = {tc['validity']:.1%}" if tc["total"] else "")
          + " (goal 100%)")
    print(f"median seconds per run: {report['median_s_per_run']} (goal < 10 s per task); total {wall:.0f} s")
    if args.json:
        report["records"] = {"generated": gen_records, "paraphrases": para_records}
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n")
        print(f"details: {args.json}")
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Evaluate the demo model through the ReAct graph.")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model directory (default: the bundled demo)")
    p.add_argument("--n", type=int, default=200, help="generated tasks per tool (default 200)")
    p.add_argument("--n-out-of-scope", type=int, default=40, help="generated out-of-scope requests (default 40)")
    p.add_argument("--skills", default=",".join(SKILLS), help="comma-separated subset of: " + ", ".join(SKILLS))
    p.add_argument("--seed", type=int, default=12345, help="seed of the generated eval tasks")
    p.add_argument("--paraphrases", type=Path, default=PARAPHRASES)
    p.add_argument("--no-paraphrases", action="store_true")
    p.add_argument("--limit-paraphrases", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--json", help="write the report with every run's details here")
    p.add_argument("-v", "--verbose", action="store_true", help="print every failed task")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
