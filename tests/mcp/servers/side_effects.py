"""agentflow tools with side effects, served by `agentflow mcp serve` in the MCP run tests: `charge` (not
idempotent) appends a line to $AF_COUNT per execution and, when $AF_GATE names a FIFO, waits on it first."""

import os

import agentflow


@agentflow.tool(timeout_s=None)
def charge(amount: int) -> str:
    """Charge an amount (a side effect: not idempotent)."""
    gate = os.environ.get("AF_GATE")
    if gate:
        with open(gate) as fifo:
            fifo.read()
    with open(os.environ["AF_COUNT"], "a") as f:
        f.write(f"{amount}\n")
    return f"charged {amount}"
