"""The one protocol every model backend implements.

A backend gets a `ModelRequest` (the conversation, the tools on offer, optionally a schema for the final
answer, sampling settings) and returns a `ModelResponse` (the decision, token usage, the raw text it
emitted). Everything else (budgets, tracing, retries of tools) lives outside the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentflow.messages import Decision, Message, Usage, latest_user_text

__all__ = ["GuaranteedModel", "Model", "ModelRequest", "ModelResponse", "SamplingSettings", "ToolSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """What a model is told about a tool: its name, description and JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingSettings:
    """Decoding settings recorded with each run. `seed` makes local backends reproducible. `max_tokens=None`
    lets a guaranteed backend use the minimum it reports for the decision (so a decision always completes)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int | None = None
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequest:
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    final_schema: dict[str, Any] | None = None
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    step: int = 0
    role: str = (
        ""  # the role asking (agent, planner, a specialist's name, ...): scripted models may script per role
    )
    #: the graph offers a refusal: the decision `{"reasoning": ..., "refuse": true}` answers with this fixed text
    refusal: str | None = None

    @property
    def quote_source(self) -> str | None:
        """The text quoted arguments (`agentflow.Quoted`) are spans of: the latest user message."""
        return latest_user_text(self.messages)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResponse:
    decision: Decision
    usage: Usage
    raw_text: str
    model_name: str = ""
    engine: str = ""  # the mask engine that constrained decoding ("" when the backend does not say)


@runtime_checkable
class Model(Protocol):
    """A model backend. `spec` is the string that rebuilds it (`scripted:FILE`, `transformers:PATH`, ...)."""

    @property
    def spec(self) -> str: ...

    async def decide(self, request: ModelRequest) -> ModelResponse: ...


@runtime_checkable
class GuaranteedModel(Model, Protocol):
    """A local model decoding under agentflow's grammar with a choice of mask engines (`transformers:`): what
    `agentflow schema check --model` and `schema sample` ask of a backend beyond deciding."""

    @property
    def engine(self) -> str:
        """The mask engine asked for: "auto" or one engine name."""
        ...

    def check_guarantee(self) -> None:
        """Load the model; raise `UnsupportedTokenizerError` if its tokenizer breaks the guarantee."""
        ...

    def engine_report(self, compiled: Any) -> dict[str, Any]:
        """Per mask engine: None if it enforces `compiled` exactly, else its refusal; "auto": auto's pick (or the
        refusal when no engine can)."""
        ...

    def sample_schema(
        self,
        schema: dict[str, Any],
        *,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> str:
        """One instance of `schema` itself, decoded under agentflow's grammar (blocking)."""
        ...
