"""`agentflow sandbox build | doctor | exec` in a subprocess: results, exit codes, bad input, no engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

KEYS = {"stdout", "stderr", "exit_code", "timed_out", "killed_by", "files", "policy"}


def agentflow(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        capture_output=True,
        text=True,
        timeout=300,
        input=stdin,
        env={**os.environ, **(env or {})},
    )


def _no_cli_containers(client: Any) -> bool:
    return not [
        c for c in client.api.containers(all=True) if any("agentflow-sbx-cli-" in n for n in c["Names"])
    ]


def test_exec_json_prints_one_result_object(sandbox_image: str, docker_client: Any) -> None:
    """--json: one object with the tools' fields and the policy in force; exit 0; the sandbox is gone after."""
    proc = agentflow("sandbox", "exec", "--json", "--code", "open('o.txt', 'w').write('hi'); print(6 * 7)")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == KEYS and out["stdout"] == "42\n" and out["exit_code"] == 0
    assert out["files"] == [{"path": "o.txt", "size": 2}] and out["policy"]["network"] == "none"
    assert _no_cli_containers(docker_client)


def test_exec_failures_exit_1(sandbox_image: str) -> None:
    """A raising program and one past its --timeout exit 1, saying so."""
    crashed = agentflow("sandbox", "exec", "--code", "raise SystemExit(3)")
    assert crashed.returncode == 1 and "sandbox: exit 3" in crashed.stderr
    slow = agentflow("sandbox", "exec", "--json", "--timeout", "1", "--code", "while True: pass")
    out = json.loads(slow.stdout)
    assert slow.returncode == 1 and out["timed_out"] and out["killed_by"] == "timeout"


def test_exec_reads_stdin_and_files_and_runs_shell(sandbox_image: str, tmp_path: Path) -> None:
    """`-` reads the code from stdin, a path from the file; --shell runs bash."""
    assert agentflow("sandbox", "exec", "-", stdin="print('from stdin')").stdout == "from stdin\n"
    script = tmp_path / "job.py"
    script.write_text("print('from a file')")
    assert agentflow("sandbox", "exec", str(script)).stdout == "from a file\n"
    shell = agentflow("sandbox", "exec", "--shell", "--code", "echo $HOME; id -u")
    assert shell.returncode == 0 and shell.stdout == "/work\n65534\n"


def test_a_policy_file_applies(sandbox_image: str, tmp_path: Path) -> None:
    """--policy changes the limits the container runs under (here: memory)."""
    policy = tmp_path / "p.toml"
    policy.write_text("memory_mb = 64\n")
    code = (
        "import os\nfor p in ('/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory.max'):\n"
        "    if os.path.exists(p):\n        print(open(p).read().strip())\n        break\n"
    )
    proc = agentflow("sandbox", "exec", "--policy", str(policy), "--code", code)
    assert proc.returncode == 0 and int(proc.stdout) == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one"),
        (("--code", "x", "file.py"), "exactly one"),
        (("missing.py",), "missing.py: no such file"),
        (("--code", "   "), "the code is empty"),
    ],
)
def test_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    """No code, code twice, a missing file or empty code: exit 2 with the reason."""
    proc = agentflow("sandbox", "exec", *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_bad_policy_file_exits_2(tmp_path: Path) -> None:
    """A policy that loosens without a reason is refused before anything runs (exit 2)."""
    policy = tmp_path / "loose.toml"
    policy.write_text('network = "allow"\n')
    proc = agentflow("sandbox", "exec", "--policy", str(policy), "--json", "--code", "print(1)")
    assert proc.returncode == 2 and "say why in 'reason'" in proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "ConfigError"


def test_no_engine_exits_2_saying_how_to_start_one(tmp_path: Path) -> None:
    """Without an engine, exec exits 2 naming DOCKER_HOST and the start command; doctor exits 1, not ready."""
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    proc = agentflow("sandbox", "exec", "--code", "print(1)", env=env)
    assert proc.returncode == 2 and "DOCKER_HOST=unix://" in proc.stderr and "dockerd" in proc.stderr
    doctor = agentflow("sandbox", "doctor", "--json", env=env)
    assert doctor.returncode == 1 and json.loads(doctor.stdout)["ready"] is False


def test_doctor_and_build_when_ready(sandbox_image: str) -> None:
    """With engine and image: doctor exits 0; build is a no-op that names the tag."""
    assert agentflow("sandbox", "doctor").returncode == 0
    build = agentflow("sandbox", "build", "--quiet")
    assert build.returncode == 0 and build.stdout.startswith(sandbox_image) and "up to date" in build.stdout


def test_ctrl_c_removes_the_sandbox(sandbox_image: str, docker_client: Any) -> None:
    """SIGINT during exec ends it with exit 130 and leaves neither its container nor its work volume."""
    import signal
    import socket
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "agentflow", "sandbox", "exec", "--code", "import time; time.sleep(60)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _no_cli_containers(docker_client):  # until its container runs
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
        proc.communicate()
    owner = f"{socket.gethostname()}:{proc.pid}:"
    volumes = docker_client.api.volumes(filters={"label": "agentflow.sandbox"})["Volumes"] or []
    assert _no_cli_containers(docker_client)
    assert not [
        v for v in volumes if (v.get("Labels") or {}).get("agentflow.sandbox.owner", "").startswith(owner)
    ]
