"""Sandbox latency and throughput: `python_exec("print(1)")` through the async Sandbox API (what the tool calls).

    DOCKER_HOST=unix:///tmp/agentflow-dockerd/docker.sock .venv/bin/python bench/sandbox.py [--n 30] [--runsc]

Measures, on the real engine:
- cold: a new run's first execution with no warm container (container create + start + runner ready + run);
- warm start: a new run's first execution taking a pre-started container from the pool (the pool is refilled
  between samples, untimed);
- warm (same run): a run's later executions, in the container it already holds (the steady state of a run);
- throughput: executions per second with 1, 4 and 16 concurrent callers, each its own run (containers started
  before the clock starts).
For comparison it also times `docker exec` into a running container (the per-call floor without a runner).
Numbers only; nothing is asserted. Goal: warm p50 < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import uuid

import anyio

from agentflow.sandbox import Policy, Sandbox, SandboxPool, image_tag

CODE = "print(1)"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<28} n={len(ms):>3}  p50 {_pct(ms, 0.5):8.1f} ms  p95 {_pct(ms, 0.95):8.1f} ms  "
        f"mean {statistics.mean(ms):8.1f} ms"
    )


async def _timed(sandbox: Sandbox) -> float:
    started = time.perf_counter()
    result = await sandbox.python(CODE)
    elapsed = time.perf_counter() - started
    if result.stdout != "1\n":
        raise SystemExit(f"unexpected result: {result}")
    return elapsed


def _new(pool: SandboxPool, policy: Policy) -> Sandbox:
    return Sandbox(pool, run_id=f"bench-{uuid.uuid4().hex[:8]}", policy=policy)


async def cold(policy: Policy, n: int) -> list[float]:
    pool = SandboxPool(warm=0)
    try:
        samples = []
        for _ in range(n):
            sandbox = _new(pool, policy)
            samples.append(await _timed(sandbox))
            await anyio.to_thread.run_sync(pool.release_run, sandbox.run_id)
        return samples
    finally:
        await anyio.to_thread.run_sync(pool.close)


async def warm(policy: Policy, n: int) -> tuple[list[float], list[float]]:
    pool = SandboxPool(warm=1)
    try:
        starts, same = [], []
        for _ in range(n):
            await anyio.to_thread.run_sync(pool.prewarm, policy)  # untimed: the refill
            sandbox = _new(pool, policy)
            starts.append(await _timed(sandbox))
            await anyio.to_thread.run_sync(pool.release_run, sandbox.run_id)
        sandbox = _new(pool, policy)
        await _timed(sandbox)
        for _ in range(n):
            same.append(await _timed(sandbox))
        return starts, same
    finally:
        await anyio.to_thread.run_sync(pool.close)


async def throughput(policy: Policy, callers: int, seconds: float) -> float:
    pool = SandboxPool(warm=0)
    try:
        sandboxes = [_new(pool, policy) for _ in range(callers)]
        async with anyio.create_task_group() as tg:  # each caller's container, before the clock starts
            for sandbox in sandboxes:
                tg.start_soon(_timed, sandbox)
        done = 0
        deadline = time.perf_counter() + seconds

        async def caller(sandbox: Sandbox) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await _timed(sandbox)
                done += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for sandbox in sandboxes:
                tg.start_soon(caller, sandbox)
        return done / (time.perf_counter() - started)
    finally:
        await anyio.to_thread.run_sync(pool.close)


def docker_exec(n: int) -> list[float]:
    """`docker exec CONTAINER python3 -c 'print(1)'` into one running hardened container."""
    name = f"bench-exec-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--rm",
            "--name",
            name,
            "--network",
            "none",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--user",
            "65534:65534",
            image_tag(),
            "sleep",
            "600",
        ],
        check=True,
        capture_output=True,
    )
    try:
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            subprocess.run(["docker", "exec", name, "python3", "-c", CODE], check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
        return samples
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=30, help="samples per latency row")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput row")
    parser.add_argument("--runsc", action="store_true", help="run under gVisor (runtime runsc)")
    args = parser.parse_args()
    policy = Policy(runtime="runsc") if args.runsc else Policy()
    print(f"image {image_tag()}, runtime {policy.runtime}, python_exec({CODE!r})")
    print(_row("cold (new container)", await cold(policy, max(5, args.n // 3))))
    starts, same = await warm(policy, args.n)
    print(_row("warm start (pool)", starts))
    print(_row("warm (same run)", same))
    if not args.runsc:
        print(
            _row("docker exec (reference)", await anyio.to_thread.run_sync(docker_exec, max(5, args.n // 3)))
        )
    for callers in (1, 4, 16):
        rate = await throughput(policy, callers, args.seconds)
        print(f"throughput {callers:>2} concurrent callers   {rate:8.1f} executions/s")


if __name__ == "__main__":
    anyio.run(main)
