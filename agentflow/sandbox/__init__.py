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

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
