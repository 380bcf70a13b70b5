# The public API of `agentflow`, and its only list: type checkers read this stub, and `agentflow/__init__.py`
# loads each name lazily from the module named here (lazy_loader.attach_stub), so `import agentflow` stays light.

from . import mcp as mcp, memory as memory, sandbox as sandbox
from .approval import (
    ApprovalPolicy as ApprovalPolicy,
    HumanDecision as HumanDecision,
    PendingCall as PendingCall,
)
from .budget import (
    DEFAULT_BUDGET as DEFAULT_BUDGET,
    Budget as Budget,
)
from .context import ContextPolicy as ContextPolicy
from .events import (
    ApprovalDecided as ApprovalDecided,
    ContextTrimmed as ContextTrimmed,
    Event as Event,
    ModelCalled as ModelCalled,
    ModelOffer as ModelOffer,
    RunErrored as RunErrored,
    RunFinished as RunFinished,
    RunResumed as RunResumed,
    RunStarted as RunStarted,
    SandboxReady as SandboxReady,
    StepStarted as StepStarted,
    ToolCalled as ToolCalled,
    ToolSourcesConnected as ToolSourcesConnected,
)
from .exceptions import (
    AgentflowError as AgentflowError,
    BudgetExhausted as BudgetExhausted,
    ConfigError as ConfigError,
    ContextWindowError as ContextWindowError,
    DatabaseUnavailableError as DatabaseUnavailableError,
    DecodingInvariantError as DecodingInvariantError,
    ElicitationRequired as ElicitationRequired,
    EmbeddingMismatchError as EmbeddingMismatchError,
    EngineLimitError as EngineLimitError,
    EngineUnsupportedError as EngineUnsupportedError,
    GrammarRejectedError as GrammarRejectedError,
    GraphLoadError as GraphLoadError,
    GraphRefError as GraphRefError,
    InvalidDecisionError as InvalidDecisionError,
    InvalidModelOutputError as InvalidModelOutputError,
    LeaseLostError as LeaseLostError,
    MaxTokensTooSmallError as MaxTokensTooSmallError,
    McpStartError as McpStartError,
    ModelError as ModelError,
    ModelHTTPError as ModelHTTPError,
    ModelSpecError as ModelSpecError,
    PlanError as PlanError,
    ReplayDivergedError as ReplayDivergedError,
    RoutingError as RoutingError,
    RunBusyError as RunBusyError,
    RunError as RunError,
    SandboxError as SandboxError,
    SandboxPathError as SandboxPathError,
    SandboxUnavailableError as SandboxUnavailableError,
    StoreError as StoreError,
    ThreadBusyError as ThreadBusyError,
    ToolArgumentsError as ToolArgumentsError,
    ToolDefinitionChanged as ToolDefinitionChanged,
    ToolDefinitionError as ToolDefinitionError,
    ToolError as ToolError,
    ToolNameConflictError as ToolNameConflictError,
    UnknownRunError as UnknownRunError,
    UnsupportedSchemaError as UnsupportedSchemaError,
    UnsupportedTokenizerError as UnsupportedTokenizerError,
    UserError as UserError,
)
from .graph_walk import (
    uses_roles as uses_roles,
    with_subgraphs as with_subgraphs,
)
from .messages import (
    Decision as Decision,
    Message as Message,
    ToolCall as ToolCall,
    Usage as Usage,
)
from .models import (
    GuaranteedModel as GuaranteedModel,
    Model as Model,
    ModelRequest as ModelRequest,
    ModelResponse as ModelResponse,
    SamplingSettings as SamplingSettings,
    ToolSpec as ToolSpec,
    load_model as load_model,
)
from .nodes import (
    AgentState as AgentState,
    ApprovalGate as ApprovalGate,
    BudgetGuard as BudgetGuard,
    ModelNode as ModelNode,
    ToolNode as ToolNode,
    route_after_model as route_after_model,
)
from .patterns import (
    Agent as Agent,
    handoff_graph as handoff_graph,
    plan_execute_graph as plan_execute_graph,
    react_graph as react_graph,
    supervisor_graph as supervisor_graph,
)
from .redaction import Sensitive as Sensitive
from .replayer import (
    Divergence as Divergence,
    ReplayResult as ReplayResult,
)
from .result import RunResult as RunResult
from .runner import (
    Runner as Runner,
    new_run_id as new_run_id,
    replay as replay,
    run as run,
    run_sync as run_sync,
)
from .status import RunStatus as RunStatus
from .tooling import (
    Quoted as Quoted,
    RunContext as RunContext,
    Tool as Tool,
    ToolOutcome as ToolOutcome,
    ToolReturn as ToolReturn,
    tool as tool,
)
from .worker import Worker as Worker

__version__: str
