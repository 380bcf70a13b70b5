"""Every `agentflow run` command the docs show with a scripted model works as shown.

The commands are read from README.md and from the docstrings of graphs/*.py and examples/*.py (line
continuations joined); a scripted model answers only the request its script was written for, so a command whose
request and script disagree fails here instead of printing a wrong answer to a new user.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    sources = [
        REPO / "README.md",
        *sorted((REPO / "graphs").glob("*.py")),
        *sorted((REPO / "examples").glob("*.py")),
    ]
    for path in sources:
        text = re.sub(r"\\+\n", " ", path.read_text(encoding="utf-8"))  # (in docstrings: `\\` + newline)
        for line in text.splitlines():
            match = re.search(r"(?:scripts/)?agentflow run (.*--model scripted:\S+.*)", line)
            if match is None:
                continue
            command = match.group(1).split("  #", 1)[0].strip().rstrip("`")
            found.append((f"{path.relative_to(REPO)}: {command}", shlex.split(command)))
    return found


COMMANDS = _commands()


def test_the_docs_show_scripted_commands() -> None:
    """The scan finds the documented commands (a change in how they are written would empty it)."""
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize(("where", "args"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_runs(where: str, args: list[str], db_path: Path) -> None:
    """The command exits 0 (succeeded) or 4 (paused for approval, where the docs say it pauses)."""
    env = {**os.environ, "AGENTFLOW_DB": str(db_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "agentflow", "run", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode in (0, 4), f"{where}\n{proc.stderr[-2000:]}"
