# The public API of `agentflow`, and its only list: type checkers read this stub, and `agentflow/__init__.py`
# loads each name lazily from the module named here (lazy_loader.attach_stub), so `import agentflow` stays light.

from .approval import (
    ApprovalPolicy as ApprovalPolicy,
)
from .approval import (
    HumanDecision as HumanDecision,
)
from .approval import (
    PendingCall as PendingCall,
)
from .budget import (
    DEFAULT_BUDGET as DEFAULT_BUDGET,
)
from .budget import (
    Budget as Budget,
)
from .events import (
    ApprovalDecided as ApprovalDecided,
)
from .events import (
    Event as Event,
)
from .events import (
    ModelCalled as ModelCalled,
)
from .events import (
    ModelOffer as ModelOffer,
)
from .events import (
    RunErrored as RunErrored,
)
from .events import (
    RunFinished as RunFinished,
)
from .events import (
    RunResumed as RunResumed,
)
from .events import (
    RunStarted as RunStarted,
)
from .events import (
    StepStarted as StepStarted,
)
from .events import (
    ToolCalled as ToolCalled,
)
from .exceptions import (
    AgentflowError as AgentflowError,
)
from .exceptions import (
    BudgetExhausted as BudgetExhausted,
)
from .exceptions import (
    ConfigError as ConfigError,
)
from .exceptions import (
    ContextWindowError as ContextWindowError,
)
from .exceptions import (
    DecodingInvariantError as DecodingInvariantError,
)
from .exceptions import (
    EngineUnsupportedError as EngineUnsupportedError,
)
from .exceptions import (
    GrammarRejectedError as GrammarRejectedError,
)
from .exceptions import (
    GraphLoadError as GraphLoadError,
)
from .exceptions import (
    InvalidDecisionError as InvalidDecisionError,
)
from .exceptions import (
    InvalidModelOutputError as InvalidModelOutputError,
)
from .exceptions import (
    LeaseLostError as LeaseLostError,
)
from .exceptions import (
    MaxTokensTooSmallError as MaxTokensTooSmallError,
)
from .exceptions import (
    ModelError as ModelError,
)
from .exceptions import (
    ModelHTTPError as ModelHTTPError,
)
from .exceptions import (
    ModelSpecError as ModelSpecError,
)
from .exceptions import (
    PlanError as PlanError,
)
from .exceptions import (
    RoutingError as RoutingError,
)
from .exceptions import (
    RunBusyError as RunBusyError,
)
from .exceptions import (
    RunError as RunError,
)
from .exceptions import (
    StoreError as StoreError,
)
from .exceptions import (
    ToolDefinitionError as ToolDefinitionError,
)
from .exceptions import (
    ToolError as ToolError,
)
from .exceptions import (
    UnknownRunError as UnknownRunError,
)
from .exceptions import (
    UnsupportedSchemaError as UnsupportedSchemaError,
)
from .exceptions import (
    UnsupportedTokenizerError as UnsupportedTokenizerError,
)
from .exceptions import (
    UserError as UserError,
)
from .messages import (
    Decision as Decision,
)
from .messages import (
    Message as Message,
)
from .messages import (
    ToolCall as ToolCall,
)
from .messages import (
    Usage as Usage,
)
from .models import (
    GuaranteedModel as GuaranteedModel,
)
from .models import (
    Model as Model,
)
from .models import (
    ModelRequest as ModelRequest,
)
from .models import (
    ModelResponse as ModelResponse,
)
from .models import (
    SamplingSettings as SamplingSettings,
)
from .models import (
    ToolSpec as ToolSpec,
)
from .models import (
    load_model as load_model,
)
from .nodes import (
    AgentState as AgentState,
)
from .nodes import (
    ApprovalGate as ApprovalGate,
)
from .nodes import (
    BudgetGuard as BudgetGuard,
)
from .nodes import (
    ModelNode as ModelNode,
)
from .nodes import (
    ToolNode as ToolNode,
)
from .nodes import (
    route_after_model as route_after_model,
)
from .patterns import (
    Agent as Agent,
)
from .patterns import (
    handoff_graph as handoff_graph,
)
from .patterns import (
    plan_execute_graph as plan_execute_graph,
)
from .patterns import (
    react_graph as react_graph,
)
from .patterns import (
    supervisor_graph as supervisor_graph,
)
from .result import RunResult as RunResult
from .runner import (
    Runner as Runner,
)
from .runner import (
    new_run_id as new_run_id,
)
from .runner import (
    run as run,
)
from .runner import (
    run_sync as run_sync,
)
from .status import RunStatus as RunStatus
from .tooling import (
    RunContext as RunContext,
)
from .tooling import (
    Tool as Tool,
)
from .tooling import (
    ToolOutcome as ToolOutcome,
)
from .tooling import (
    tool as tool,
)

__version__: str
