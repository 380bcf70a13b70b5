"""Docker sandboxes for model-written code, hardened by default.

    from agentflow.sandbox import SandboxPool, Sandbox, Policy

    pool = SandboxPool(warm=2)
    sandbox = Sandbox(pool, run_id="r1", policy=Policy())
    result = await sandbox.python("print(sum(range(10)))")      # ExecResult: stdout "45\\n", exit_code 0
    pool.close()

Tools reach their run's sandbox with `sandbox_for(ctx)` (one process-wide pool); the run engine calls
`preflight(sandbox_policies(graph))` before a graph with sandbox tools makes any model call, and
`release_run(run_id)` when the run's execution ends. Modules: `policy` (limits, loosening with a reason),
`engine` (reaching Docker), `image` (offline build, content-hash tags), `spec` (the hardened container),
`channel` / `container` (the attach stream to the in-container runner), `pool` (warm containers, per-run
ownership), `sandbox` (the async API), `ownership` (labels, reaping dead owners' containers), `registry`
(the process-wide pool), `discovery` (which policies a graph's tools use), `doctor` (what is missing).
The docker SDK (`pip install 'agentflow[sandbox]'`) is imported only when an engine is contacted.
"""

from agentflow.sandbox.discovery import mark_sandbox_tool, policy_of_tool, sandbox_policies
from agentflow.sandbox.doctor import DoctorReport, doctor
from agentflow.sandbox.image import BuildReport, build_image, image_tag
from agentflow.sandbox.ownership import ReapReport, reap_orphans
from agentflow.sandbox.policy import Policy, default_policy, load_policy
from agentflow.sandbox.pool import SandboxPool
from agentflow.sandbox.registry import get_pool, preflight, release_run, sandbox_for, set_pool, shutdown
from agentflow.sandbox.result import ExecResult, FileContent, FileInfo
from agentflow.sandbox.sandbox import Sandbox

__all__ = [
    "BuildReport",
    "DoctorReport",
    "ExecResult",
    "FileContent",
    "FileInfo",
    "Policy",
    "ReapReport",
    "Sandbox",
    "SandboxPool",
    "build_image",
    "default_policy",
    "doctor",
    "get_pool",
    "image_tag",
    "load_policy",
    "mark_sandbox_tool",
    "policy_of_tool",
    "preflight",
    "reap_orphans",
    "release_run",
    "sandbox_for",
    "sandbox_policies",
    "set_pool",
    "shutdown",
]
