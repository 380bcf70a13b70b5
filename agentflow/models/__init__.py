"""Model backends behind one async protocol, the decision schema, the prompt format and `--model` specs."""

from agentflow.models.base import (
    GuaranteedModel,
    Model,
    ModelRequest,
    ModelResponse,
    SamplingSettings,
    ToolSpec,
)
from agentflow.models.decision_schema import decision_schema, parse_decision
from agentflow.models.spec import ModelSpec, load_model, parse_model_spec

__all__ = [
    "GuaranteedModel",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSpec",
    "SamplingSettings",
    "ToolSpec",
    "decision_schema",
    "load_model",
    "parse_decision",
    "parse_model_spec",
]
