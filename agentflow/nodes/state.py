"""Graph state shared by agentflow's nodes.

Convention for every agentflow graph (the runner relies on it): the run's input goes in `input`, the final
answer comes out in `output`, and `partial` holds the best partial result so far (what a budget-stopped run
returns). Custom graphs that reuse agentflow's nodes include these keys in their own state.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from agentflow.messages import Message

__all__ = ["AgentState"]


class AgentState(TypedDict, total=False):
    input: Any
    messages: Annotated[list[Message], operator.add]
    output: Any
    partial: Any
