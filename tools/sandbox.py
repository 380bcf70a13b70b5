"""`python_exec`, `shell_exec`, `read_file`, `write_file`: run model-written code in the run's Docker sandbox.

Each run gets its own hardened container(s) and work dir `/work` (see `agentflow.sandbox`): files written by
one call are there for the next call of the same run, never for another run. What the code does (non-zero
exit, timeout, memory kill, a flood of output) is an observation the model reads: `exit_code`, `stdout`,
`stderr` (head and tail kept, the middle cut with a marker), `timed_out`, `killed_by`, `files` produced
(paths and sizes; `read_file` returns contents). Engine failures and refused paths are tool errors, which the
model also reads as observations. The tools are not idempotent (a resumed run reports outcome-unknown rather
than running code twice) and work with approval policies like any tool (`sandbox_tools(approval="always")`).

The default tools run under the default policy (`sandboxes/policy.toml`: no network, ...); a graph that
needs another makes its own set: `sandbox_tools(Policy(network="allow", reason="..."))`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from agentflow import (
    RunContext,
    SandboxError,
    SandboxPathError,
    SandboxUnavailableError,
    Tool,
    ToolError,
    tool,
)
from agentflow.sandbox import ExecResult, Policy, default_policy, mark_sandbox_tool, sandbox_for

__all__ = ["SANDBOX_TOOLS", "python_exec", "read_file", "sandbox_tools", "shell_exec", "write_file"]

OBSERVATION_CHARS = 24_000  # room for both streams at the default policy's cap, JSON-escaped
_SLACK_S = 60.0  # the tool's own timeout: the sandbox's wall clock plus container start and clean-up

Code = Annotated[
    str,
    Field(
        description="Python 3 source, run as __main__ in the work dir /work.",
        min_length=1,
        max_length=100_000,
    ),
]
Command = Annotated[
    str,
    Field(description="A bash command line, run in the work dir /work.", min_length=1, max_length=100_000),
]
Path = Annotated[
    str, Field(description="A path relative to the work dir /work (no '..').", min_length=1, max_length=1024)
]
Files = Annotated[
    dict[str, str] | None,
    Field(description="Files to write into /work before running: path -> text content."),
]


def _observation(result: ExecResult, policy: Policy) -> dict[str, Any]:
    if result.killed_by == "engine":
        raise ToolError(result.error or "sandbox engine failure")
    return {**result.as_dict(), "policy": policy.describe()}


async def _guarded(coro: Any) -> Any:
    try:
        return await coro
    except (SandboxPathError, SandboxError) as exc:
        raise ToolError(str(exc)) from None
    except SandboxUnavailableError as exc:
        raise ToolError(f"sandbox unavailable: {exc}") from None


def sandbox_tools(policy: Policy | None = None, *, approval: Any = "never") -> list[Tool]:
    """The four sandbox tools bound to `policy` (default: the default policy), with an approval policy."""
    bound = policy or default_policy()
    options: dict[str, Any] = {"timeout_s": bound.timeout_s + _SLACK_S, "approval": approval}

    @tool(
        name="python_exec",
        destructive=True,
        idempotent=False,
        max_observation_chars=OBSERVATION_CHARS,
        **options,
    )
    async def python_exec(code: Code, ctx: RunContext, files: Files = None) -> dict[str, Any]:
        """Run Python 3 code in an isolated sandbox (no network; numpy and pandas available) and return its
        exit code, stdout, stderr and the files it wrote. Files in /work persist between calls of this run."""
        result = await _guarded(sandbox_for(ctx, bound).python(code, files=files))
        return _observation(result, bound)

    @tool(
        name="shell_exec",
        destructive=True,
        idempotent=False,
        max_observation_chars=OBSERVATION_CHARS,
        **options,
    )
    async def shell_exec(command: Command, ctx: RunContext) -> dict[str, Any]:
        """Run a bash command in an isolated sandbox (no network) and return its exit code, stdout, stderr
        and the files it wrote. Files in /work persist between calls of this run."""
        result = await _guarded(sandbox_for(ctx, bound).shell(command))
        return _observation(result, bound)

    @tool(name="read_file", read_only=True, max_observation_chars=OBSERVATION_CHARS, **options)
    async def read_file(path: Path, ctx: RunContext) -> dict[str, Any]:
        """Read a text file from the sandbox's work dir /work (long files are cut, saying so)."""
        content = await _guarded(sandbox_for(ctx, bound).read_file(path))
        return content.as_dict()

    @tool(name="write_file", destructive=True, idempotent=False, **options)
    async def write_file(
        path: Path, content: Annotated[str, Field(max_length=1_000_000)], ctx: RunContext
    ) -> dict[str, Any]:
        """Write a text file into the sandbox's work dir /work (replacing it if it exists)."""
        info = await _guarded(sandbox_for(ctx, bound).write_file(path, content))
        return info.as_dict()

    tools = [python_exec, shell_exec, read_file, write_file]
    for made in tools:
        mark_sandbox_tool(made, bound)
    return tools


SANDBOX_TOOLS = sandbox_tools()
python_exec, shell_exec, read_file, write_file = SANDBOX_TOOLS
