"""`Agent`: one named agent of a multi-agent graph (its prompt, tools, model and peers), and how it runs.

    billing = Agent("billing", "Refunds and invoices.", tools=[refund], handoffs={"support": Escalation})

`name` is also the agent's role: `--model billing=SPEC` gives it its own model. Each agent keeps its own
conversation across the times it is called; other agents see only what it reports or hands over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agentflow.approval import ApprovalPolicy
from agentflow.nodes.model_node import DEFAULT_SYSTEM_PROMPT
from agentflow.models.base import Model
from agentflow.tooling.tool import Tool

__all__ = ["Agent", "Handover"]


class Handover(BaseModel):
    """The default payload of a handoff: what the next agent should do, and what it needs to know."""

    task: str
    context: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """An agent of a supervisor or handoff graph.

    `handoffs` names the peers this agent may transfer control to, each with the pydantic model of the payload
    it must send (a list of names uses `Handover`). `final_schema` shapes its answer (a string by default).
    """

    name: str
    description: str = ""
    tools: Sequence[Tool] = ()
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    model: Model | None = None
    final_schema: dict[str, Any] | None = None
    approval: ApprovalPolicy | Mapping[str, ApprovalPolicy] | None = None
    handoffs: Mapping[str, type[BaseModel]] | Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        from agentflow.exceptions import ConfigError

        if not self.name.isidentifier():
            raise ConfigError(f"agent name {self.name!r} must be an identifier (it names a node and a role)")

    @property
    def peers(self) -> dict[str, type[BaseModel]]:
        if isinstance(self.handoffs, Mapping):
            return dict(self.handoffs)
        return {name: Handover for name in self.handoffs}
