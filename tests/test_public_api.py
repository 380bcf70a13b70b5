"""The public surface: every exported name resolves, and importing the CLI stays light."""

from __future__ import annotations

import subprocess
import sys

import agentflow


def test_all_exports_resolve() -> None:
    """Each name in `agentflow.__all__` is importable."""
    for name in agentflow.__all__:
        assert getattr(agentflow, name) is not None, name
    assert {"run", "run_sync", "Runner", "tool", "react_graph", "RunResult", "Budget"} <= set(agentflow.__all__)


def test_cli_import_does_not_load_heavy_libraries() -> None:
    """`agentflow --help` must start fast: importing the CLI loads neither LangGraph nor torch."""
    code = ("import sys, agentflow.cli; "
            "print(sorted(m for m in ('langgraph', 'torch', 'transformers', 'outlines') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
