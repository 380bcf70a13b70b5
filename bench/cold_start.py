"""Cold start: what a user waits for, each command a fresh process, against the floors it cannot beat.

For each command: the median wall time of `--repeat` runs (default 5), as separate processes. Floors, measured
the same way: a bare `python -c pass`; `import typer, rich.console` (what a CLI needs at all); the libraries a
run truly needs (LangGraph, pydantic, structlog, sqlite3); `import torch, transformers`; and that plus loading
the demo model's weights with transformers. Goals (issue 14): `--help`, `graphs`, `runs list` <= 3x the
typer + rich floor; a scripted run <= its libraries + 0.5 s; a demo run <= those + the torch / transformers /
weights floor + 1 s (decoding included).

    .venv/bin/python bench/cold_start.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "agentflow" / "models" / "demo"
SCRIPT = REPO / "examples" / "scripted" / "arithmetic.json"
REQUEST = "What is 17 * 23 + 4?"

FLOORS = {
    "python -c pass": "pass",
    "import typer, rich.console": "import typer, rich.console",
    "run libraries (langgraph, pydantic, ...)": "import langgraph.graph, pydantic, structlog, sqlite3, anyio",
    "import torch, transformers": "import torch, transformers",
    "torch + transformers + demo weights": (
        "from transformers import AutoModelForCausalLM, AutoTokenizer; "
        f"AutoTokenizer.from_pretrained({str(DEMO)!r}); AutoModelForCausalLM.from_pretrained({str(DEMO)!r})"
    ),
}


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (
        0,
        2,
    ):  # `runs list` on a fresh database exits 2 (no database yet): still timed
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def median(argv: list[str], env: dict[str, str], repeat: int, fresh_db: Path | None = None) -> float:
    times = []
    for _ in range(repeat):
        if fresh_db is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{fresh_db}{suffix}").unlink(missing_ok=True)
        times.append(timed(argv, env))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        env = {**os.environ, "AGENTFLOW_DB": str(db), "AGENTFLOW_CACHE_DIR": str(Path(tmp) / "cache")}
        cli = [py, "-m", "agentflow"]
        floors = {name: median([py, "-c", code], env, args.repeat) for name, code in FLOORS.items()}
        # one run first: the database exists for `runs list`, auto's engine choice is cached like a user's
        subprocess.run(
            [*cli, "run", "react", "-i", REQUEST], capture_output=True, env=env, cwd=REPO, check=True
        )
        commands = {
            "agentflow --help": median([*cli, "--help"], env, args.repeat),
            "agentflow graphs": median([*cli, "graphs"], env, args.repeat),
            "agentflow runs list": median([*cli, "runs", "list"], env, args.repeat),
            "scripted run": median(
                [*cli, "run", "react", "-i", REQUEST, "-m", f"scripted:{SCRIPT}"], env, args.repeat
            ),
            "demo run": median([*cli, "run", "react", "-i", REQUEST], env, args.repeat),
        }
    print(f"medians of {args.repeat} fresh processes, {os.cpu_count()} CPUs\n")
    print("floors")
    for name, seconds in floors.items():
        print(f"  {name:<42} {seconds:6.2f} s")
    print("commands")
    for name, seconds in commands.items():
        print(f"  {name:<42} {seconds:6.2f} s")
    light = 3 * floors["import typer, rich.console"]
    scripted_goal = floors["run libraries (langgraph, pydantic, ...)"] + 0.5
    demo_goal = scripted_goal - 0.5 + floors["torch + transformers + demo weights"] + 1.0
    print("goals")
    for name in ("agentflow --help", "agentflow graphs", "agentflow runs list"):
        ok = "met" if commands[name] <= light else "NOT met"
        print(f"  {name:<42} {commands[name]:6.2f} s <= {light:.2f} s (3x typer + rich): {ok}")
    for name, goal in (("scripted run", scripted_goal), ("demo run", demo_goal)):
        ok = "met" if commands[name] <= goal else "NOT met"
        print(f"  {name:<42} {commands[name]:6.2f} s <= {goal:.2f} s: {ok}")


if __name__ == "__main__":
    main()
