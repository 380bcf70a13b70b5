"""Reproducibility of the demo model's training: two runs of scripts/demo_model/train.py with the same seed
(short settings by default) must write identical weights and tokenizer. Prints each file's sha256 per run
and whether they match; exits 1 if any differs.

    .venv/bin/python bench/demo_repro.py [--steps 60] [--tasks 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO / "scripts" / "demo_model" / "train.py"
COMPARED = ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "config.json")


def train(out: Path, args: argparse.Namespace) -> dict[str, str]:
    subprocess.run(
        [
            sys.executable,
            str(TRAIN),
            "--out",
            str(out),
            "--seed",
            str(args.seed),
            "--steps",
            str(args.steps),
            "--tasks",
            str(args.tasks),
            "--val-tasks",
            "50",
            "--val-every",
            str(args.steps),
            "--drill-steps",
            str(args.steps // 3),
        ],  # both phases
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in COMPARED}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--tasks", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first, second = (train(Path(tmp) / run, args) for run in ("a", "b"))
    print(f"train.py twice, seed {args.seed}, {args.steps} steps, {args.tasks} tasks")
    for name in COMPARED:
        verdict = "identical" if first[name] == second[name] else "DIFFERENT"
        print(f"  {name:<24}{first[name][:16]}  {second[name][:16]}  {verdict}")
    sys.exit(0 if first == second else 1)


if __name__ == "__main__":
    main()
