"""Every error agentflow raises on purpose.

    AgentflowError
    ├── UserError                      misuse or configuration; fix the input and try again (CLI exit 2)
    │   ├── ConfigError                a bad option value (budget, db path, sampling settings)
    │   ├── ModelSpecError             a `--model` spec that does not parse or names a missing file
    │   ├── GraphLoadError             a graph path / name that cannot be loaded or has no factory
    │   ├── ToolDefinitionError        a function that cannot become a tool (bad signature, duplicate name)
    │   │   └── ToolNameConflictError  two tool sources offer the same name (and no prefix tells them apart)
    │   ├── McpStartError              an MCP server that cannot be started or reached (names it, with its stderr)
    │   ├── UnknownRunError            a run id that is not in the database
    │   ├── RunBusyError               a run another live process is executing (or deciding on)
    │   └── StoreError                 a database file that is corrupt, foreign or from a newer agentflow
    └── RunError                       something went wrong while a run was executing
        ├── BudgetExhausted            a budget ran out (the run ends `budget_exhausted`, exit 3)
        ├── ModelError                 the model backend failed or produced no usable decision
        ├── PlanError                  a planner kept producing unusable plans (cycle, unknown step, none)
        ├── RoutingError               a supervisor kept routing to agents that do not exist
        ├── ToolDefinitionChanged      an MCP tool in use changed its definition (pinned digest differs)
        ├── ToolArgumentsError         a call's arguments fail the tool's schema (becomes an observation)
        └── ToolError                  raised by a tool to report a failure the model should see

Tool failures never escape a run: invalid arguments, exceptions and timeouts become observations the model
reads. `ToolError` exists so a tool can say `retryable=True` explicitly.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentflowError",
    "BudgetExhausted",
    "ConfigError",
    "GraphLoadError",
    "McpStartError",
    "ModelError",
    "ModelSpecError",
    "PlanError",
    "RoutingError",
    "RunBusyError",
    "RunError",
    "StoreError",
    "ToolArgumentsError",
    "ToolDefinitionChanged",
    "ToolDefinitionError",
    "ToolError",
    "ToolNameConflictError",
    "UnknownRunError",
    "UserError",
]


class AgentflowError(Exception):
    """Base class of every agentflow error."""


class UserError(AgentflowError):
    """The caller asked for something that cannot work; the message says what to change."""


class ConfigError(UserError):
    """An option has a value agentflow cannot use."""


class ModelSpecError(UserError):
    """A model spec (`--model`) is malformed or points at nothing."""


class GraphLoadError(UserError):
    """A graph file or bundled graph name cannot be loaded."""


class ToolDefinitionError(UserError):
    """A function cannot be turned into a tool."""


class ToolNameConflictError(ToolDefinitionError):
    """Two tool sources (MCP servers, local tools) offer the same name; a per-server prefix resolves it."""


class McpStartError(UserError):
    """An MCP server could not be started, reached or initialised. The message names the server and, for a
    stdio server, ends with its last stderr lines."""

    def __init__(self, message: str, *, server: str = "", stderr: tuple[str, ...] = ()) -> None:
        self.server = server
        self.stderr = stderr
        super().__init__(message)


class UnknownRunError(UserError):
    """No run with this id exists in the database."""


class RunBusyError(UserError):
    """Another live process is executing this run; only one may at a time."""


class StoreError(UserError):
    """The database file is unusable: corrupt, not an agentflow database, or from a newer version."""


class RunError(AgentflowError):
    """A failure during a run."""


class BudgetExhausted(RunError):
    """A budget ran out. `budget` names which one: steps, tokens, cost, time or tool_calls."""

    def __init__(self, budget: str, limit: float, used: float) -> None:
        self.budget = budget
        self.limit = limit
        self.used = used
        super().__init__(f"budget '{budget}' exhausted: limit {limit:g}, used {used:g}")


class ModelError(RunError):
    """The model backend failed, or its output could not be turned into a decision."""


class PlanError(RunError):
    """A plan cannot run: no steps, an unknown dependency, a cycle, a duplicate id. Each is sent back to the
    planner with this message; after the graph's limit of attempts the run fails with it."""


class RoutingError(RunError):
    """A supervisor's routes could not be followed (an agent that does not exist, no task) several times in a
    row; each bad route was sent back to it with the reason first."""


class ToolDefinitionChanged(RunError):
    """An MCP tool in use no longer matches its pinned definition (a "rug pull" defence): `changes` lists
    (server, tool, what) with `what` naming the changed parts ("description", "input_schema", ...,
    "removed")."""

    def __init__(self, message: str, *, changes: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.changes = changes
        super().__init__(message)


class ToolArgumentsError(RunError):
    """A call's arguments do not validate against the tool's schema. `execute_call` turns it into an error
    observation (`invalid arguments for tool 'x': ...`); it never escapes a run."""


class ToolError(RunError):
    """Raise from a tool to report a failure to the model; `retryable=True` lets agentflow retry the call."""

    def __init__(self, message: str, *, retryable: bool = False, details: Any = None) -> None:
        self.retryable = retryable
        self.details = details
        super().__init__(message)
