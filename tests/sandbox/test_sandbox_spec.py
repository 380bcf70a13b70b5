"""The hardened container, attacked: each attack runs as model-written code and the test asserts how it was
contained. Real engine, real containers; the only listener addressed is one this test runs on this machine."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentflow.sandbox import Policy, Sandbox, SandboxPool
from agentflow.sandbox.spec import SANDBOX_ENV

pytestmark = pytest.mark.anyio

PROCESSES = "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"


async def test_the_container_is_created_hardened(
    pool: SandboxPool, sandbox: Sandbox, docker_client: Any
) -> None:
    """What the engine reports for a sandbox container: every hardening option of the spec is in force."""
    await sandbox.python("pass")
    (container_id,) = pool.containers(sandbox.run_id)
    attrs = docker_client.api.inspect_container(container_id)
    host, config = attrs["HostConfig"], attrs["Config"]
    assert host["NetworkMode"] == "none" and config["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"] and host["Privileged"] is False
    assert host["SecurityOpt"] == ["no-new-privileges"]  # and no "seccomp=unconfined": the default profile
    assert host["PidsLimit"] == 128
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
    assert host["NanoCpus"] == 1_000_000_000
    assert host["LogConfig"]["Type"] == "none"
    assert not host["Binds"] and [m["Type"] for m in attrs["Mounts"]] == ["volume"]
    assert attrs["Mounts"][0]["Destination"] == "/work" and not host["Devices"]
    assert config["User"] == "65534:65534"
    assert "/tmp" in host["Tmpfs"] and "size=64m" in host["Tmpfs"]["/tmp"]


@pytest.fixture(scope="module")
def listener(docker_client: Any) -> Iterator[dict[str, Any]]:
    """A TCP and a UDP listener on the engine's bridge gateway address (this machine only)."""
    gateway = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]
    tcp = socket.create_server((gateway, 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((gateway, 0))
    got: dict[str, Any] = {
        "host": gateway,
        "tcp_port": tcp.getsockname()[1],
        "udp_port": udp.getsockname()[1],
        "tcp": [],
        "udp": [],
        "udp_event": threading.Event(),
    }

    def accept() -> None:
        while True:
            try:
                conn, _ = tcp.accept()
            except OSError:
                return
            with conn:
                got["tcp"].append(conn.recv(100))

    def receive() -> None:
        while True:
            try:
                data, _ = udp.recvfrom(512)
            except OSError:
                return
            got["udp"].append(data)
            got["udp_event"].set()

    threads = [threading.Thread(target=accept, daemon=True), threading.Thread(target=receive, daemon=True)]
    for thread in threads:
        thread.start()
    yield got
    for sock in (tcp, udp):
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept / recvfrom
        except OSError:
            pass
        sock.close()
    for thread in threads:
        thread.join(timeout=5)


def _egress_code(got: dict[str, Any]) -> str:
    # a DNS query for probe.agentflow.test, sent to the test's UDP listener; then a TCP connection
    return f"""
import json, os, socket, struct
out = {{"interfaces": sorted(os.listdir("/sys/class/net"))}}
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(
    bytes([len(p)]) + p.encode() for p in "probe.agentflow.test".split(".")) + b"\\0" + struct.pack(">HH", 1, 1)
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(query, ("{got["host"]}", {got["udp_port"]}))
    out["dns"] = "sent"
except OSError as e:
    out["dns"] = e.strerror
try:
    c = socket.create_connection(("{got["host"]}", {got["tcp_port"]}), timeout=5)
    c.sendall(b"hello from the sandbox")
    c.close()
    out["tcp"] = "sent"
except OSError as e:
    out["tcp"] = e.strerror or type(e).__name__
print(json.dumps(out))
"""


async def test_network_egress_is_impossible_by_default(sandbox: Sandbox, listener: dict[str, Any]) -> None:
    """No interface but loopback: TCP and DNS (UDP) to a listener on this machine fail with 'unreachable'."""
    result = await sandbox.python(_egress_code(listener))
    out = json.loads(result.stdout)
    assert out["interfaces"] == ["lo"]
    assert out["dns"] == "Network is unreachable" and out["tcp"] == "Network is unreachable"
    assert listener["tcp"] == [] and listener["udp"] == []


async def test_network_allow_reaches_the_listener(
    new_sandbox: Callable[..., Sandbox], listener: dict[str, Any]
) -> None:
    """The positive control: under network="allow" the same code reaches the same listener (TCP and DNS)."""
    sandbox = new_sandbox(Policy(network="allow", reason="positive control of the egress test"))
    result = await sandbox.python(_egress_code(listener))
    out = json.loads(result.stdout)
    assert out == {"interfaces": ["eth0", "lo"], "dns": "sent", "tcp": "sent"}, result
    assert listener["udp_event"].wait(10)
    assert b"\x05probe\x09agentflow\x04test\x00" in listener["udp"][0]
    assert listener["tcp"] == [b"hello from the sandbox"]


async def test_a_fork_bomb_is_stopped_by_the_pids_limit_and_killed_at_the_timeout(sandbox: Sandbox) -> None:
    """Forking stops at the pids limit; at the wall clock every process goes, and the sandbox works after."""
    bomb = """
import os
told = False
while True:
    try:
        os.fork()
    except OSError as e:
        if not told:
            print("fork refused:", e.strerror, flush=True)
            told = True
"""
    result = await sandbox.python(bomb, timeout=3)
    assert result.timed_out and result.killed_by == "timeout"
    assert "fork refused: Resource temporarily unavailable" in result.stdout  # EAGAIN: the pids limit
    after = await sandbox.python(PROCESSES)
    assert after.exit_code == 0 and len(json.loads(after.stdout)) == 2  # the runner and this code only


async def test_a_shell_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    """The classic bash fork bomb ends at the timeout with nothing left running."""
    result = await sandbox.shell(":(){ :|:& };:; sleep 60", timeout=3)
    assert result.timed_out and result.killed_by == "timeout"
    assert len(json.loads((await sandbox.python(PROCESSES)).stdout)) == 2


async def test_a_memory_bomb_is_killed_by_the_memory_limit(pool: SandboxPool, sandbox: Sandbox) -> None:
    """Allocating past 512 MB gets the code (not the runner) OOM-killed; the run's container lives on."""
    result = await sandbox.python("chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))\n")
    assert result.killed_by == "memory" and result.exit_code == -9 and not result.timed_out
    again = await sandbox.python("print('still here')")
    assert again.stdout == "still here\n" and len(pool.containers(sandbox.run_id)) == 1


async def test_an_infinite_loop_is_killed_at_the_wall_clock(sandbox: Sandbox) -> None:
    """A busy loop is killed at its timeout and reported as timed out, with what it printed first."""
    result = await sandbox.python("print('looping', flush=True)\nwhile True:\n    pass\n", timeout=2)
    assert result.timed_out and result.killed_by == "timeout" and result.exit_code == -9
    assert result.stdout == "looping\n"


async def test_50_mb_of_stdout_is_capped_with_a_visible_marker(sandbox: Sandbox) -> None:
    """50 MB reach the host as the first and last 4 KiB around a marker counting what was cut."""
    code = "import sys\nsys.stdout.write('<start>' + 'x' * (50 * 1024 * 1024 - 12) + '<end>')\n"
    result = await sandbox.python(code)
    total = 50 * 1024 * 1024
    assert result.exit_code == 0 and result.stdout_omitted == total - 8192
    assert result.stdout.startswith("<start>") and result.stdout.endswith("<end>")
    assert f"[truncated: {total - 8192} of {total} bytes omitted]" in result.stdout
    assert len(result.stdout) < 8192 + 200


async def test_writes_outside_the_work_dir_fail_and_the_writable_places_are_capped(sandbox: Sandbox) -> None:
    """The root is mounted read-only (/etc, /usr, /, the runner); /work and /tmp fill up at their size caps."""
    code = """
import errno, json, os
out = {}
for path in ["/etc/passwd", "/etc/new", "/usr/bin/evil", "/evil", "/opt/agentflow/runner.py"]:
    try:
        with open(path, "a") as f:
            f.write("x")
        out[path] = "written"
    except OSError as e:
        out[path] = errno.errorcode[e.errno]
for path in ["/work/big", "/tmp/big"]:
    written = 0
    try:
        with open(path, "wb") as f:
            while written < 200 * 2**20:
                f.write(b"x" * 2**20)
                f.flush()
                written += 2**20
        out[path] = "no limit"
    except OSError as e:
        out[path] = (errno.errorcode[e.errno], written // 2**20)
    os.remove(path)
out["mounts"] = {m.split()[1]: m.split()[3].split(",")[0] for m in open("/proc/mounts").read().splitlines()}
print(json.dumps(out))
"""
    out = json.loads((await sandbox.python(code)).stdout)
    assert out["mounts"]["/"] == "ro" and out["mounts"]["/work"] == out["mounts"]["/tmp"] == "rw"
    for path in ["/etc/passwd", "/etc/new", "/usr/bin/evil", "/evil", "/opt/agentflow/runner.py"]:
        assert out[path] in ("EROFS", "EACCES"), (path, out[path])  # not ours, and read-only anyway
    assert out["/work/big"][0] == "ENOSPC" and out["/work/big"][1] <= 64
    assert out["/tmp/big"][0] == "ENOSPC" and out["/tmp/big"][1] <= 64


async def test_the_hosts_environment_never_enters(
    docker_client: Any, new_sandbox: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret in this process's environment is in no process of a container made after it was set."""
    secret = "af-secret-" + os.urandom(8).hex()
    monkeypatch.setenv("AGENTFLOW_TEST_SECRET", secret)
    cold = SandboxPool(warm=0, client=docker_client, reap=False)
    try:
        sandbox = new_sandbox(in_pool=cold)
        code = (
            "import json, os\nprint(json.dumps({'env': dict(os.environ), "
            "'pid1': open('/proc/1/environ', 'rb').read().decode(errors='replace')}))"
        )
        result = await sandbox.python(code)
        listing = await sandbox.shell("env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'")
    finally:
        cold.close()
    assert secret not in result.stdout and secret not in listing.stdout
    env = json.loads(result.stdout)["env"]
    assert set(env) <= set(SANDBOX_ENV) | {"HOSTNAME"} and env["HOME"] == "/work"


async def test_setuid_gives_nothing(sandbox: Sandbox) -> None:
    """no-new-privileges, no capabilities at all, seccomp filtering; setuid(0) and a setuid-root mount fail."""
    code = """
import json, os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
out = {k: status[k].strip() for k in ("NoNewPrivs", "Seccomp", "CapPrm", "CapEff", "CapBnd", "Uid")}
try:
    os.setuid(0)
    out["setuid"] = "became root"
except PermissionError:
    out["setuid"] = "EPERM"
print(json.dumps(out))
"""
    out = json.loads((await sandbox.python(code)).stdout)
    assert out["NoNewPrivs"] == "1" and out["Seccomp"] == "2"
    assert out["CapPrm"] == out["CapEff"] == out["CapBnd"] == "0000000000000000"
    assert out["Uid"].split() == ["65534"] * 4 and out["setuid"] == "EPERM"
    mount = await sandbox.shell("ls -l /bin/mount; /bin/mount -t tmpfs none /tmp")
    assert mount.stdout.startswith("-rwsr-xr-x 1 root root")  # the setuid bit is there, and is ignored:
    assert mount.exit_code != 0 and "must be superuser" in mount.stderr


async def test_no_docker_socket_and_no_host_processes(sandbox: Sandbox) -> None:
    """No socket file at all (so no docker.sock) in the container; /proc shows the runner and the code only."""
    code = """
import json, os, stat
sockets = []  # every socket file, and anything named like the Docker socket
for root, dirs, files in os.walk("/"):
    if root in ("/proc", "/sys"):
        dirs[:] = []
        continue
    for name in files + dirs:
        path = os.path.join(root, name)
        if "docker.sock" in name or stat.S_ISSOCK(os.lstat(path).st_mode):
            sockets.append(path)
procs = {p: open(f"/proc/{p}/cmdline", "rb").read().replace(b"\\0", b" ").decode() for p in os.listdir("/proc")
         if p.isdigit()}
print(json.dumps({"sockets": sockets, "procs": procs}))
"""
    out = json.loads((await sandbox.python(code)).stdout)
    assert out["sockets"] == []
    assert set(out["procs"]) == {"1", next(p for p in out["procs"] if p != "1")}
    assert all("runner.py" in cmd for cmd in out["procs"].values())  # the runner and its forked child only


async def test_gvisor_runs_the_same_hardened_container(
    docker_client: Any, new_sandbox: Callable[..., Sandbox]
) -> None:
    """With runtime="runsc" registered, code runs under gVisor's kernel (its own uname), still with no network."""
    from agentflow.sandbox.engine import engine_info

    if "runsc" not in engine_info(docker_client).runtimes:
        pytest.skip(
            "gVisor is not registered with this engine: sudo apt-get install -y runsc (scripts/dockerd.sh "
            "registers it)"
        )
    sandbox = new_sandbox(Policy(runtime="runsc"))
    result = await sandbox.python(
        "import json, os\nprint(json.dumps([os.uname().release, os.listdir('/sys/class/net')]))"
    )
    release, interfaces = json.loads(result.stdout)
    assert result.exit_code == 0 and release != os.uname().release and "eth0" not in interfaces
