"""MCP overhead: one tool call through MCP (stdio and streamable HTTP) vs the same function as a local tool,
and the time to set a connection up.

The tool is one tiny async function (`echo`). "local" runs it through agentflow's execute path
(`execute_call`: validation, timeout, observation); "stdio" / "http" call the same function served by
`agentflow mcp serve` (which runs it through `execute_call` too) from agentflow's MCP client, itself called
through `execute_call`. Added latency = MCP p50 - local p50 (goal: <= 2 ms over stdio).

    .venv/bin/python bench/mcp_overhead.py [--calls 500] [--connects 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parent.parent
TOOLS = '''
import agentflow


@agentflow.tool(read_only=True)
async def echo(text: str) -> str:
    """Return the text."""
    return text
'''


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


async def time_calls(tools: dict[str, Any], n: int) -> list[float]:
    from agentflow.messages import ToolCall
    from agentflow.tooling import RunContext, execute_call

    context = RunContext(run_id="bench")
    samples = []
    for i in range(n + 20):
        call = ToolCall(name="echo", arguments={"text": f"hello {i}"})
        started = time.perf_counter()
        outcome = await execute_call(call, tools, context)
        elapsed = time.perf_counter() - started
        assert not outcome.is_error and outcome.content == f"hello {i}", outcome
        if i >= 20:  # warm-up calls are not counted
            samples.append(elapsed)
    return samples


def start_http(module: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentflow", "mcp", "serve", str(module), "--http", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stderr is not None
    match = re.search(r"http://\S+", proc.stderr.readline())
    assert match, "the HTTP server did not start"
    return proc, match.group(0)


async def main(calls: int, connects: int) -> None:
    import agentflow.mcp as mcp

    workdir = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    module = workdir / "bench_tools.py"
    module.write_text(TOOLS)
    sys.path.insert(0, str(workdir))
    import bench_tools

    stdio = mcp.stdio(
        sys.executable, ["-m", "agentflow", "mcp", "serve", str(module)], name="bench", trusted=True
    )
    rows: list[tuple[str, float, float]] = []
    rows.append(("local", *quantiles(await time_calls({"echo": bench_tools.echo}, calls))))

    setup_stdio = []
    for _ in range(connects):
        started = time.perf_counter()
        async with mcp.connect([stdio]) as toolset:
            setup_stdio.append(time.perf_counter() - started)
    async with mcp.connect([stdio]) as toolset:
        rows.append(("stdio", *quantiles(await time_calls({t.name: t for t in toolset.tools}, calls))))

    proc, url = start_http(module)
    try:
        http = mcp.http(url, name="bench", trusted=True)
        setup_http = []
        for _ in range(connects):
            started = time.perf_counter()
            async with mcp.connect([http]) as toolset:
                setup_http.append(time.perf_counter() - started)
        async with mcp.connect([http]) as toolset:
            rows.append(("http", *quantiles(await time_calls({t.name: t for t in toolset.tools}, calls))))
    finally:
        proc.terminate()
        proc.wait()

    local_p50 = rows[0][1]
    print(f"one tool call, {calls} calls each (after 20 warm-up calls), milliseconds")
    print(f"{'path':<8}{'p50':>10}{'p95':>10}{'added p50':>12}")
    for name, p50, p95 in rows:
        print(f"{name:<8}{p50:>10.3f}{p95:>10.3f}{p50 - local_p50:>12.3f}")
    print(f"\nconnection set-up (median of {connects}; start + handshake + tools/list), milliseconds")
    print(f"stdio (process start included)  {statistics.median(setup_stdio) * 1000:>8.1f}")
    print(f"http  (server already running)  {statistics.median(setup_http) * 1000:>8.1f}")
    stdio_added = rows[1][1] - local_p50
    print(
        f"\ngoal: added p50 over stdio <= 2 ms: {'met' if stdio_added <= 2 else 'NOT met'} ({stdio_added:.3f} ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--connects", type=int, default=5)
    args = parser.parse_args()
    anyio.run(main, args.calls, args.connects)
