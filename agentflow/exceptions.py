"""Every error agentflow raises on purpose, in one tree.

    AgentflowError                     exit_code 1
    ├── UserError                      misuse or configuration; fix the input and try again (exit_code 2)
    │   ├── ConfigError                a bad option value (budget, db path, sampling settings)
    │   ├── ModelSpecError             a `--model` spec that does not parse or names a missing file
    │   ├── GraphLoadError             a graph path / name that cannot be loaded or has no factory
    │   │   └── GraphRefError              a graph object where a reference workers can load is needed (queue)
    │   ├── ToolDefinitionError        a function that cannot become a tool (bad signature, duplicate name)
    │   │   └── ToolNameConflictError      two tool sources offer the same name (and no prefix tells them apart)
    │   ├── McpStartError              an MCP server that cannot be started or reached (names it, with its stderr)
    │   ├── UnknownRunError            a run id that is not in the database
    │   ├── RunBusyError               a run another live process is executing (or deciding on)
    │   │   └── ThreadBusyError            a thread already has a run in progress (double-texting: reject)
    │   ├── StoreError                 a database file that is corrupt, foreign or from a newer agentflow
    │   ├── SandboxUnavailableError    no Docker engine, sandbox image or runtime: says what to install / start
    │   ├── SandboxPathError           a sandbox file path outside the work dir, with `..`, through a symlink
    │   ├── EmbeddingMismatchError     vector search on a store whose vectors another embedding model made
    │   ├── InvalidDecisionError       a human decision that cannot apply (unknown call, invalid edit)
    │   ├── UnsupportedSchemaError     a schema constrained decoding cannot enforce (keyword, JSON Pointer)
    │   │   └── EngineUnsupportedError     ... that one mask engine cannot express exactly
    │   ├── MaxTokensTooSmallError     `max_tokens` below the minimum that guarantees a complete decision
    │   └── UnsupportedTokenizerError  a tokenizer the decoding guarantee does not hold for
    └── RunError                       something went wrong while a run was executing
        ├── BudgetExhausted            a budget ran out (the run ends `budget_exhausted`, exit_code 3)
        ├── ModelError                 the model backend failed or produced no usable decision
        │   ├── ModelHTTPError             an OpenAI-compatible endpoint failed (unreachable, HTTP error)
        │   │   └── GrammarRejectedError       a vLLM server refused agentflow's grammar
        │   ├── ContextWindowError         prompt + max_tokens do not fit the model's context window
        │   ├── InvalidModelOutputError    the model kept producing invalid decisions (retries spent)
        │   └── DecodingInvariantError     the constrained decoder broke an invariant (a bug or engine limit)
        ├── LeaseLostError             this process lost its lease on a run (another process took it over)
        ├── DatabaseUnavailableError   the database server cannot be reached / its pool is exhausted (retried first)
        ├── PlanError                  a planner kept producing unusable plans (cycle, unknown step, none)
        ├── RoutingError               a supervisor kept routing to agents that do not exist
        ├── SandboxError               the Docker engine failed while a sandbox was starting or running code
        ├── ToolDefinitionChanged      an MCP tool in use changed its definition (pinned digest differs)
        ├── ToolArgumentsError         a call's arguments fail the tool's schema (becomes an observation)
        └── ToolError                  raised by a tool to report a failure the model should see

Whether an error is the caller's fault is a property of its class: `exit_code` (2 for every `UserError`).
A run that fails records its error's class name; `error_class(name)` finds the class again (`RunResult`
uses it for the exit code). Tool failures never escape a run: invalid arguments, exceptions and timeouts
become observations the model reads; `ToolError` exists so a tool can say `retryable=True` explicitly.
Control-flow signals (a pause for approval) are not errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from agentflow.messages import Usage

__all__ = [
    "AgentflowError",
    "BudgetExhausted",
    "ConfigError",
    "ContextWindowError",
    "DatabaseUnavailableError",
    "DecodingInvariantError",
    "ElicitationRequired",
    "EmbeddingMismatchError",
    "EngineLimitError",
    "EngineUnsupportedError",
    "GrammarRejectedError",
    "GraphLoadError",
    "GraphRefError",
    "InvalidDecisionError",
    "InvalidModelOutputError",
    "LeaseLostError",
    "MaxTokensTooSmallError",
    "McpStartError",
    "ModelError",
    "ModelHTTPError",
    "ModelSpecError",
    "PlanError",
    "ReplayDivergedError",
    "RoutingError",
    "RunBusyError",
    "RunError",
    "SandboxError",
    "SandboxPathError",
    "SandboxUnavailableError",
    "StoreError",
    "ThreadBusyError",
    "ToolArgumentsError",
    "ToolDefinitionChanged",
    "ToolDefinitionError",
    "ToolError",
    "ToolNameConflictError",
    "UnknownRunError",
    "UnsupportedSchemaError",
    "UnsupportedTokenizerError",
    "UserError",
    "error_class",
]


class AgentflowError(Exception):
    """Base class of every agentflow error."""

    #: the CLI's exit code when this error ends a command (or a run)
    exit_code: ClassVar[int] = 1


# --------------------------------------------------------------------------------------------- user errors


class UserError(AgentflowError):
    """The caller asked for something that cannot work; the message says what to change."""

    exit_code: ClassVar[int] = 2


class ConfigError(UserError):
    """An option has a value agentflow cannot use."""


class ModelSpecError(UserError):
    """A model spec (`--model`) is malformed or points at nothing."""


class GraphLoadError(UserError):
    """A graph file or bundled graph name cannot be loaded."""


class GraphRefError(GraphLoadError):
    """A graph given as an object where a reference another process can load is needed: a queued run is
    executed by a worker, which loads its graph by name (a bundled graph, a file, or `package.module:factory`)."""


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


class ThreadBusyError(RunBusyError):
    """A thread already has a run in progress (queued, running or waiting for approval) and the new input's
    double-texting policy is `reject`. `active` is that run's id."""

    def __init__(self, message: str, *, thread_id: str = "", active: str = "") -> None:
        self.thread_id = thread_id
        self.active = active
        super().__init__(message)


class StoreError(UserError):
    """The database file is unusable: corrupt, not an agentflow database, or from a newer version."""


class SandboxUnavailableError(UserError):
    """Sandboxes cannot run here: no reachable Docker engine, no sandbox image, or a runtime (gVisor) that is
    not installed. The message names what to install and the exact command to start or build it."""


class SandboxPathError(UserError):
    """A file path a sandbox refused: absolute outside the work dir, containing `..`, through a symlink, not a
    regular file, or not there. Sandbox tools report it to the model as an observation."""


class EmbeddingMismatchError(UserError):
    """The store's vectors were made by another embedding model than the one it was opened with: vector (and
    hybrid) search is refused until they are re-embedded (`agentflow memory reindex`). Full-text search works."""

    def __init__(self, message: str, *, stored: str, current: str) -> None:
        self.stored = stored
        self.current = current
        super().__init__(message)


class InvalidDecisionError(UserError):
    """A human decision that cannot apply: unknown call, an edit that fails the tool's schema, no message."""


class UnsupportedSchemaError(UserError):
    """A schema (or part of it) that agentflow cannot enforce faithfully, so it refuses to decode under it.

    `keyword` is the JSON Schema keyword at fault (e.g. ``"not"``), `pointer` the JSON Pointer of the
    subschema holding it (e.g. ``"/properties/x"``), `reason` a human explanation.
    """

    def __init__(self, keyword: str, pointer: str, reason: str) -> None:
        self.keyword = keyword
        self.pointer = pointer
        self.reason = reason
        super().__init__(f"unsupported schema: keyword {keyword!r} at {pointer or '/'}: {reason}")

    def as_dict(self) -> dict[str, str]:
        return {"keyword": self.keyword, "pointer": self.pointer, "reason": self.reason}


class EngineUnsupportedError(UnsupportedSchemaError):
    """A schema the compiler supports but one mask engine cannot enforce exactly (its grammar syntax lacks
    llguidance's regex intersection, or the translation exceeds the engine's limits). Other engines may still
    decode it; a model bound to this engine refuses it."""

    def __init__(self, engine: str, keyword: str, pointer: str, reason: str) -> None:
        self.engine = engine
        super().__init__(keyword, pointer, f"mask engine {engine}: {reason}")
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {**super().as_dict(), "engine": self.engine}


class EngineLimitError(EngineUnsupportedError):
    """A grammar too large for one mask engine's limits (its regex form, EBNF text or index build): an engine
    limit, not a problem with the schema; the other engines (or `auto`) may decode it."""

    def __init__(self, engine: str, keyword: str, pointer: str, reason: str) -> None:
        super().__init__(engine, keyword, pointer, reason)
        where = f" [the lexeme of {keyword!r} at {pointer}]" if pointer else ""
        self.args = (
            f"mask engine {engine} cannot hold this grammar: {reason}{where}. This is a size limit of {engine}, "
            "not a problem with the schema: use engine=auto (the default) or another engine",
        )

    def __str__(self) -> str:
        return str(self.args[0])


class MaxTokensTooSmallError(UserError):
    """`max_tokens` is below the minimum that guarantees a complete, valid output for this schema."""

    def __init__(self, max_tokens: int, minimum: int) -> None:
        self.max_tokens = max_tokens
        self.minimum = minimum
        super().__init__(f"max_tokens={max_tokens} is below the guaranteed minimum {minimum} for this schema")


class UnsupportedTokenizerError(UserError):
    """A tokenizer the guarantee does not hold for (e.g. a token that decodes to no bytes, no eos token)."""


# ---------------------------------------------------------------------------------------------- run errors


class RunError(AgentflowError):
    """A failure during a run."""


class BudgetExhausted(RunError):
    """A budget ran out. `budget` names which one: steps, tokens, cost, time or tool_calls."""

    exit_code: ClassVar[int] = 3

    def __init__(self, budget: str, limit: float, used: float) -> None:
        self.budget = budget
        self.limit = limit
        self.used = used
        super().__init__(f"budget '{budget}' exhausted: limit {limit:g}, used {used:g}")


class ElicitationRequired(RunError):
    """A tool's MCP server asked the user for input during the call (elicitation): the call stops and the run
    pauses for a human, like an approval. `request` holds the server's message and requested schema."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        super().__init__(f"MCP server '{request.get('server')}' asks the user: {request.get('message')}")


class ReplayDivergedError(RunError):
    """A strict replay reached a point where the run no longer does what its recording did; `divergence`
    (`agentflow.replayer.Divergence`) says where: step, agent, expected and actual."""

    def __init__(self, divergence: Any) -> None:
        self.divergence = divergence
        super().__init__(divergence.message)


class ModelError(RunError):
    """The model backend failed, or its output could not be turned into a decision."""


class ModelHTTPError(ModelError):
    """The endpoint could not be reached, timed out, or answered with an HTTP error. `status` is None when
    no HTTP answer came (connection refused, timeout)."""

    def __init__(self, message: str, *, url: str, status: int | None = None, body: str = "") -> None:
        self.url = url
        self.status = status
        self.body = body
        super().__init__(message)


class GrammarRejectedError(ModelHTTPError):
    """A vLLM server refused agentflow's grammar (it does not run the llguidance backend)."""


class ContextWindowError(ModelError):
    """The prompt plus `max_tokens` does not fit the model's context window."""


class InvalidModelOutputError(ModelError):
    """The model kept producing invalid decisions: `attempts` outputs, none valid. `errors` holds one
    `OutputError` (`agentflow.models.output_check`) per attempt, `outputs` the texts, `usage` the tokens of
    all attempts."""

    def __init__(self, message: str, *, errors: Sequence[Any], outputs: Sequence[str], usage: Usage) -> None:
        self.errors = list(errors)
        self.outputs = list(outputs)
        self.attempts = len(self.errors)
        self.usage = usage
        super().__init__(message)

    @property
    def last_error(self) -> Any:
        return self.errors[-1]


class DecodingInvariantError(ModelError):
    """The constrained decoder broke an invariant it relies on (a bug or an engine resource limit)."""


class LeaseLostError(RunError):
    """This process no longer owns the run it was executing: its lease expired and another process claimed
    the run (or it finished elsewhere). Its writes are refused, so it can start no more tool calls."""


class DatabaseUnavailableError(RunError):
    """The database server could not be used: unreachable or restarting past the retry window, a connection
    dropped again and again, or every pooled connection busy past the pool's timeout. agentflow retries first
    (a transaction whose commit was cut off is looked up, never applied twice); this is what remains. The run
    stays as its last committed write left it: resumable once the server is back."""


class PlanError(RunError):
    """A plan cannot run: no steps, an unknown dependency, a cycle, a duplicate id. Each is sent back to the
    planner with this message; after the graph's limit of attempts the run fails with it."""


class RoutingError(RunError):
    """A supervisor's routes could not be followed (an agent that does not exist, no task) several times in a
    row; each bad route was sent back to it with the reason first."""


class SandboxError(RunError):
    """The Docker engine failed while a sandbox was being started or was running code (the engine stopped, a
    container could not be created). Sandbox tools report it to the model as an observation."""


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


def _tree(cls: type[AgentflowError]) -> dict[str, type[AgentflowError]]:
    found = {cls.__name__: cls}
    for sub in cls.__subclasses__():
        found.update(_tree(sub))
    return found


def error_class(name: str) -> type[AgentflowError] | None:
    """The error class of the tree (or a user's subclass of it) named `name`, e.g. from a run's recorded
    error type; None for anything else (a bug in a tool or a dependency is not classified)."""
    return _tree(AgentflowError).get(name)
