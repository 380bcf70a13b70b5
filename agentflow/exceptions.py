"""Every error agentflow raises on purpose.

    AgentflowError
    ├── UserError                      misuse or configuration; fix the input and try again (CLI exit 2)
    │   ├── ConfigError                a bad option value (budget, db path, sampling settings)
    │   ├── ModelSpecError             a `--model` spec that does not parse or names a missing file
    │   ├── GraphLoadError             a graph path / name that cannot be loaded or has no factory
    │   ├── ToolDefinitionError        a function that cannot become a tool (bad signature, duplicate name)
    │   ├── UnknownRunError            a run id that is not in the database
    │   ├── RunBusyError               a run another live process is executing (or deciding on)
    │   ├── StoreError                 a database file that is corrupt, foreign or from a newer agentflow
    │   ├── SandboxUnavailableError    no Docker engine, sandbox image or runtime: says what to install / start
    │   └── SandboxPathError           a sandbox file path outside the work dir, with `..`, through a symlink
    └── RunError                       something went wrong while a run was executing
        ├── BudgetExhausted            a budget ran out (the run ends `budget_exhausted`, exit 3)
        ├── ModelError                 the model backend failed or produced no usable decision
        ├── PlanError                  a planner kept producing unusable plans (cycle, unknown step, none)
        ├── RoutingError               a supervisor kept routing to agents that do not exist
        ├── SandboxError               the Docker engine failed while a sandbox was starting or running code
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
    "ModelError",
    "ModelSpecError",
    "PlanError",
    "RoutingError",
    "RunBusyError",
    "RunError",
    "SandboxError",
    "SandboxPathError",
    "SandboxUnavailableError",
    "StoreError",
    "ToolDefinitionError",
    "ToolError",
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


class UnknownRunError(UserError):
    """No run with this id exists in the database."""


class RunBusyError(UserError):
    """Another live process is executing this run; only one may at a time."""


class StoreError(UserError):
    """The database file is unusable: corrupt, not an agentflow database, or from a newer version."""


class SandboxUnavailableError(UserError):
    """Sandboxes cannot run here: no reachable Docker engine, no sandbox image, or a runtime (gVisor) that is
    not installed. The message names what to install and the exact command to start or build it."""


class SandboxPathError(UserError):
    """A file path a sandbox refused: absolute outside the work dir, containing `..`, through a symlink, not a
    regular file, or not there. Sandbox tools report it to the model as an observation."""


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


class SandboxError(RunError):
    """The Docker engine failed while a sandbox was being started or was running code (the engine stopped, a
    container could not be created). Sandbox tools report it to the model as an observation."""


class ToolError(RunError):
    """Raise from a tool to report a failure to the model; `retryable=True` lets agentflow retry the call."""

    def __init__(self, message: str, *, retryable: bool = False, details: Any = None) -> None:
        self.retryable = retryable
        self.details = details
        super().__init__(message)
