"""The public surface: exactly these names are exported, each resolves, and importing stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import agentflow

REPO = Path(__file__).resolve().parents[1]

EXPORTED = {
    # running
    "Runner",
    "Worker",
    "run",
    "run_sync",
    "replay",
    "Sensitive",
    "ReplayResult",
    "Divergence",
    "new_run_id",
    "RunResult",
    "RunStatus",
    "Budget",
    "DEFAULT_BUDGET",
    # graphs and their parts
    "react_graph",
    "plan_execute_graph",
    "supervisor_graph",
    "handoff_graph",
    "Agent",
    "AgentState",
    "uses_roles",
    "with_subgraphs",
    "ModelNode",
    "ToolNode",
    "ApprovalGate",
    "BudgetGuard",
    "route_after_model",
    "ContextPolicy",
    # tools
    "tool",
    "Tool",
    "ToolOutcome",
    "Quoted",
    "RunContext",
    # models
    "Model",
    "GuaranteedModel",
    "ModelRequest",
    "ModelResponse",
    "SamplingSettings",
    "ToolSpec",
    "load_model",
    "Decision",
    "Message",
    "ToolCall",
    "Usage",
    # humans in the loop
    "HumanDecision",
    "PendingCall",
    "ApprovalPolicy",
    # events
    "Event",
    "RunStarted",
    "RunResumed",
    "StepStarted",
    "ModelOffer",
    "ModelCalled",
    "ToolCalled",
    "ApprovalDecided",
    "ToolSourcesConnected",
    "SandboxReady",
    "ContextTrimmed",
    "RunErrored",
    "RunFinished",
    # errors (the whole tree of agentflow.exceptions)
    "AgentflowError",
    "UserError",
    "ConfigError",
    "ModelSpecError",
    "GraphLoadError",
    "ToolDefinitionError",
    "UnknownRunError",
    "RunBusyError",
    "StoreError",
    "EmbeddingMismatchError",
    "InvalidDecisionError",
    "UnsupportedSchemaError",
    "EngineUnsupportedError",
    "EngineLimitError",
    "ElicitationRequired",
    "ReplayDivergedError",
    "MaxTokensTooSmallError",
    "UnsupportedTokenizerError",
    "RunError",
    "BudgetExhausted",
    "ModelError",
    "ModelHTTPError",
    "GrammarRejectedError",
    "ContextWindowError",
    "InvalidModelOutputError",
    "LeaseLostError",
    "DatabaseUnavailableError",
    "GraphRefError",
    "ThreadBusyError",
    "McpStartError",
    "SandboxError",
    "SandboxPathError",
    "SandboxUnavailableError",
    "ToolArgumentsError",
    "ToolDefinitionChanged",
    "ToolNameConflictError",
    "ToolReturn",
    "mcp",
    "sandbox",
    "memory",
    "DecodingInvariantError",
    "PlanError",
    "RoutingError",
    "ToolError",
    "__version__",
}


def test_exported_members() -> None:
    """`agentflow.__all__` is exactly the documented public surface, and every name resolves."""
    assert set(agentflow.__all__) == EXPORTED
    for name in agentflow.__all__:
        assert getattr(agentflow, name) is not None, name


def test_every_public_error_is_exported() -> None:
    """Every error class of `agentflow.exceptions` is in the public surface (one tree, nothing elsewhere)."""
    import agentflow.exceptions as exc

    classes = {n for n, v in vars(exc).items() if isinstance(v, type) and issubclass(v, exc.AgentflowError)}
    assert classes <= EXPORTED
    assert set(exc.__all__) - {"error_class"} == classes


def test_import_does_not_load_heavy_libraries() -> None:
    """`import agentflow` and importing the CLI load neither LangGraph, pydantic models of ours, nor torch."""
    code = (
        "import sys, agentflow, agentflow.cli; "
        "print(sorted(m for m in ('langgraph', 'torch', 'transformers', 'outlines', 'jsonschema') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _agentflow_imports(path: Path) -> set[str]:
    """Every `agentflow...` module or name a file imports (module paths, and `agentflow.NAME` for names)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "agentflow":
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "agentflow"}
    return found


def test_examples_and_tools_use_only_public_names() -> None:
    """`examples/` and `tools/` import only exported names (and the public modules `agentflow.testing`,
    `agentflow.toolkit`, `agentflow.graphs`, `agentflow.mcp`, `agentflow.sandbox`)."""
    public_modules = (
        "agentflow.testing.",
        "agentflow.toolkit.",
        "agentflow.graphs.",
        "agentflow.mcp.",
        "agentflow.sandbox.",
    )
    for folder in ("examples", "tools"):
        for path in (REPO / folder).rglob("*.py"):
            for name in _agentflow_imports(path):
                if name == "agentflow" or name.startswith(public_modules):
                    continue
                head, _, last = name.rpartition(".")
                assert head == "agentflow" and last in EXPORTED, f"{path.relative_to(REPO)} imports {name}"


def test_bench_uses_no_private_names() -> None:
    """`bench/` imports nothing whose name starts with an underscore from agentflow."""
    for path in (REPO / "bench").glob("*.py"):
        for name in _agentflow_imports(path):
            assert not any(part.startswith("_") for part in name.split(".")), f"{path.name} imports {name}"
