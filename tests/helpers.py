"""Small tools and scripts shared by the tests."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from pydantic import Field

from agentflow import tool


@tool(read_only=True)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool(read_only=True)
def lookup(
    key: Annotated[str, Field(max_length=10)], limit: Annotated[int, Field(ge=1, le=50)] = 5
) -> dict[str, Any]:
    """Look a key up."""
    return {"key": key, "limit": limit}


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def calls(*items: dict[str, Any], reasoning: str = "") -> dict[str, Any]:
    return {"reasoning": reasoning, "tool_calls": list(items)}


def final(answer: Any, reasoning: str = "") -> dict[str, Any]:
    return {"reasoning": reasoning, "final_answer": answer}


class Gate:
    """Lets a test hold tools open until it decides: `started` counts entries, `release` lets them finish."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.entered = 0
        self.all_in = anyio.Event()
        self.release = anyio.Event()

    async def enter(self) -> None:
        self.entered += 1
        if self.entered >= self.expected:
            self.all_in.set()
        await self.release.wait()
