"""agentflow: reliable LLM agents as LangGraph workflow graphs.

    import agentflow
    from agentflow.toolkit import DEFAULT_TOOLS

    graph = agentflow.react_graph(DEFAULT_TOOLS)
    result = agentflow.run_sync(graph, "What is 17 * 23 + 4?", model="transformers:./my-model")
"""

from typing import TYPE_CHECKING, Any

from agentflow.exceptions import (
    AgentflowError,
    BudgetExhausted,
    ConfigError,
    GraphLoadError,
    ModelError,
    ModelSpecError,
    PlanError,
    RoutingError,
    RunError,
    StoreError,
    ToolDefinitionError,
    ToolError,
    UnknownRunError,
    UserError,
)

# Everything else loads on first use, so `import agentflow` (and the CLI) stays fast: LangGraph takes ~1 s.
_LAZY = {
    "agentflow.budget": ["DEFAULT_BUDGET", "Budget"],
    "agentflow.events": ["Event", "ModelCalled", "RunErrored", "RunFinished", "RunResumed", "RunStarted",
                         "StepStarted", "ToolCalled"],
    "agentflow.graph": ["Agent", "AgentState", "ApprovalGate", "BudgetGuard", "ModelNode", "ToolNode",
                        "handoff_graph", "plan_execute_graph", "react_graph", "route_after_model",
                        "supervisor_graph"],
    "agentflow.messages": ["Decision", "Message", "ToolCall", "Usage"],
    "agentflow.models": ["Model", "ModelRequest", "ModelResponse", "SamplingSettings", "ToolSpec", "load_model"],
    "agentflow.result": ["RunResult"],
    "agentflow.runner": ["Runner", "new_run_id", "run", "run_sync"],
    "agentflow.tooling": ["RunContext", "Tool", "ToolOutcome", "tool"],
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'agentflow' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from agentflow.budget import DEFAULT_BUDGET, Budget
    from agentflow.events import (
        Event,
        ModelCalled,
        RunErrored,
        RunFinished,
        RunResumed,
        RunStarted,
        StepStarted,
        ToolCalled,
    )
    from agentflow.graph import (
        Agent,
        AgentState,
        ApprovalGate,
        BudgetGuard,
        ModelNode,
        ToolNode,
        handoff_graph,
        plan_execute_graph,
        react_graph,
        route_after_model,
        supervisor_graph,
    )
    from agentflow.messages import Decision, Message, ToolCall, Usage
    from agentflow.models import Model, ModelRequest, ModelResponse, SamplingSettings, ToolSpec, load_model
    from agentflow.result import RunResult
    from agentflow.runner import Runner, new_run_id, run, run_sync
    from agentflow.tooling import RunContext, Tool, ToolOutcome, tool

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BUDGET",
    "Agent",
    "AgentState",
    "AgentflowError",
    "ApprovalGate",
    "Budget",
    "BudgetExhausted",
    "BudgetGuard",
    "ConfigError",
    "Decision",
    "Event",
    "GraphLoadError",
    "Message",
    "Model",
    "ModelCalled",
    "ModelError",
    "ModelNode",
    "ModelRequest",
    "ModelResponse",
    "ModelSpecError",
    "PlanError",
    "RoutingError",
    "RunContext",
    "RunError",
    "RunErrored",
    "RunFinished",
    "RunResult",
    "RunResumed",
    "RunStarted",
    "Runner",
    "SamplingSettings",
    "StepStarted",
    "StoreError",
    "Tool",
    "ToolCall",
    "ToolCalled",
    "ToolDefinitionError",
    "ToolError",
    "ToolNode",
    "ToolOutcome",
    "ToolSpec",
    "UnknownRunError",
    "Usage",
    "UserError",
    "__version__",
    "handoff_graph",
    "load_model",
    "new_run_id",
    "plan_execute_graph",
    "react_graph",
    "route_after_model",
    "run",
    "run_sync",
    "supervisor_graph",
    "tool",
]
