"""A ReAct agent that writes and runs Python in a Docker sandbox to answer questions.

    agentflow sandbox doctor                      # engine and image ready?
    agentflow run coder --input "What is the 30th Fibonacci number?" --model vllm-server:http://127.0.0.1:8000

The tools (`python_exec`, `shell_exec`, `read_file`, `write_file`) run under the default sandbox policy: no
network, read-only root, 512 MB, 30 s per execution. Files the code writes in /work stay there for the rest of
the run; the run's containers and files are removed when it ends. `make_graph(policy=...)` runs the tools
under another policy (loosening needs a reason). The demo model does not write code: use a real model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph

import agentflow
from agentflow.sandbox import Policy
from agentflow.toolkit import sandbox_tools

#: The model roles of this graph (`--model ROLE=SPEC`); `agentflow graphs` lists them without importing it.
ROLES = ("agent",)

SYSTEM_PROMPT = (
    "You answer questions by writing and running Python 3 code. Call python_exec with a complete program that "
    "prints what you need; numpy and pandas are available, the network is not. Read stdout and stderr: fix the "
    "code and run it again when it fails. Files you write in /work are there for later calls. Answer briefly "
    "with the result once the code has printed it."
)


def make_graph(
    policy: Policy | None = None, *, approval: object = "never", tools: Sequence[Any] = ()
) -> StateGraph:
    """The sandbox tools under `policy` (default: hardened), plus `tools` (more tools or MCP servers)."""
    return agentflow.react_graph(
        [*sandbox_tools(policy, approval=approval), *tools], system_prompt=SYSTEM_PROMPT
    )
