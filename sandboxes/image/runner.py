"""agentflow's in-container runner: the sandbox container's main process (PID 1), stdlib only.

The host attaches to this process's stdin / stdout (the Docker attach stream) and sends one JSON request per
line; each gets one JSON response line. The runner never runs request code itself: every execution is a
forked child (a fresh copy of this small interpreter, so Python code starts in ~1 ms instead of paying an
interpreter start), and when it ends, by itself or by the deadline, every other process in the container is
killed (`kill(-1)`: the fork bomb's children and background jobs too) and reaped. Being PID 1 of the
container's PID namespace, the runner cannot be signalled by code it runs.

Requests (`op`): `ready` (answered at start without a request), `exec` (kind python | shell, code, timeout_s,
max_output), `write` (path, data base64), `read` (path, max_bytes), `list`. Output is capped in here: the head
and the tail of each stream are kept (max_output bytes together), the middle is counted and dropped, so a
flood never reaches the host. Paths are relative to the work dir; `..`, absolute paths and symlinks are
refused (files are opened component by component with O_NOFOLLOW under the work dir).

When stdin closes (the host process went away), the runner exits and the container (auto-remove) goes.
"""

import base64
import builtins
import errno
import io
import json
import os
import select
import signal
import stat
import sys
import time
import traceback

WORK = "/work"
MAX_LIST = 200  # files reported per listing
MAX_SCAN = 5000  # directory entries looked at per listing
MAX_PATH = 1024  # characters of a reported path
PROTOCOL = 1


def respond(message):
    data = (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        try:
            written = os.write(1, view)
        except InterruptedError:
            continue
        view = view[written:]


# -- paths inside the work dir -------------------------------------------------------------------------------
class PathRefused(Exception):
    pass


def split_path(path):
    if not isinstance(path, str) or not path or "\x00" in path:
        raise PathRefused("a file path must be a non-empty string")
    if path.startswith("/"):
        if path == WORK or not path.startswith(WORK + "/"):
            raise PathRefused(f"{path!r} is outside the work dir {WORK}; use a path relative to it")
        path = path[len(WORK) + 1 :]
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        raise PathRefused(f"{path!r} names the work dir itself, not a file")
    if ".." in parts:
        raise PathRefused(f"{path!r} contains '..'; paths stay inside the work dir")
    return parts


def open_in_work(path, flags, mode=0o644, *, create_dirs=False):
    """Open `path` under the work dir without following any symlink on the way (O_NOFOLLOW per component)."""
    parts = split_path(path)
    fd = os.open(WORK, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create_dirs:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise PathRefused(f"{path!r}: '{part}' is a symlink or not a directory") from None
                raise
            os.close(fd)
            fd = nxt
        try:
            return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK, mode, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathRefused(f"{path!r} is a symlink; symlinks are not followed") from None
            raise
    finally:
        os.close(fd)


def list_files():
    """Regular files under the work dir (no symlinks followed): [[relative path, size, mtime_ns]], capped."""
    found, scanned, stack, complete = [], 0, [""], True
    while stack:
        rel = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(WORK, rel) if rel else WORK))
        except OSError:
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            scanned += 1
            if scanned > MAX_SCAN or len(found) >= MAX_LIST:
                return found, False
            name = f"{rel}/{entry.name}" if rel else entry.name
            if len(name) > MAX_PATH:  # reported paths stay short: the reply must stay small
                complete = False
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(name)
            elif stat.S_ISREG(st.st_mode):
                found.append([name, st.st_size, st.st_mtime_ns])
    return found, complete


# -- processes -----------------------------------------------------------------------------------------------
def oom_kills():
    """The memory cgroup's OOM-kill count (cgroup v2 memory.events, v1 memory.oom_control), or None."""
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def others():
    pids = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            pids.append(int(name))
    return pids


REAPED = {}  # pid -> wait status of children reaped while killing everything else


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = status


def kill_everything_else(deadline_s=5.0):
    """SIGKILL every other process in the container and reap them; returns True when none is left."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap()
        if not others():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.005)


class Capture:
    """Keep the first and last `limit / 2` bytes of a stream; count the rest."""

    def __init__(self, limit):
        self.head_limit = limit - limit // 2
        self.tail_limit = limit // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data):
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_limit:
            self.tail += data
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    def text(self):
        kept = len(self.head) + len(self.tail)
        if self.total <= kept:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", "replace"), 0
        omitted = self.total - kept
        marker = f"\n... [truncated: {omitted} of {self.total} bytes omitted] ...\n"
        return (
            bytes(self.head).decode("utf-8", "replace") + marker + bytes(self.tail).decode("utf-8", "replace")
        ), omitted


def child_python(code):
    sys.stdin = open(os.devnull, encoding="utf-8")
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    sys.argv = ["<code>"]
    sys.path[0] = WORK
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__file__": "<code>"}
    status = 0
    try:
        exec(compile(code, "<code>", "exec"), namespace)
    except SystemExit as exc:
        if exc.code is None:
            status = 0
        elif isinstance(exc.code, int):
            status = exc.code & 0xFF
        else:
            print(exc.code, file=sys.stderr)
            status = 1
    except BaseException:
        exc_type, exc_value, tb = sys.exc_info()
        traceback.print_exception(exc_type, exc_value, tb.tb_next if tb is not None else None)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(status)


def spawn(kind, code, out_w, err_w):
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: never returns
        os.setsid()
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # the OOM killer takes the code, not the runner
        except OSError:
            pass
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.chdir(WORK)
        if kind == "shell":
            shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
            os.execv(shell, [shell, "-c", code])
        child_python(code)
    except BaseException:
        try:
            os.write(2, traceback.format_exc().encode())
        finally:
            os._exit(127)
    os._exit(127)


def run(kind, code, timeout_s, max_output):
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ooms_before = oom_kills()
    started = time.monotonic()
    deadline = started + timeout_s
    try:
        pid = spawn(kind, code, out_w, err_w)
    except OSError as exc:  # e.g. the pids limit left no room: report it as the execution's failure
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        kill_everything_else()
        return {
            "exit_code": None,
            "stdout": "",
            "stderr": f"could not start: {exc}",
            "stdout_bytes": 0,
            "stderr_bytes": 0,
            "stdout_omitted": 0,
            "stderr_omitted": 0,
            "timed_out": False,
            "killed_by": None,
            "duration_s": 0.0,
            "error": f"could not start the code: {exc}",
        }
    os.close(out_w)
    os.close(err_w)
    captures = {out_r: Capture(max_output), err_r: Capture(max_output)}
    poller = select.poll()
    for fd in captures:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    try:
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
    except (AttributeError, OSError):
        pidfd = None
    open_fds = set(captures)
    for fd in open_fds:
        os.set_blocking(fd, False)
    status, timed_out = None, False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        # with a pidfd the child's exit wakes the poll; without one, look every 10 ms
        wait_ms = remaining * 1000 if pidfd is not None else min(remaining * 1000, 10)
        for fd, _ in poller.poll(max(1, int(wait_ms))):
            if fd == pidfd:
                continue
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if data:
                captures[fd].add(data)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
        waited, raw = os.waitpid(pid, os.WNOHANG)
        if waited:
            status = raw
            break
    REAPED.clear()
    killed_all = kill_everything_else()
    if status is None:
        status = REAPED.get(pid)
    # whatever the dead processes wrote before they died
    for fd in list(open_fds):
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not data:
                break
            captures[fd].add(data)
    for fd in captures:
        os.close(fd)
    if pidfd is not None:
        os.close(pidfd)
    exit_code, killed_by = None, None
    if status is not None:
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            exit_code = -sig
            killed_by = "signal " + signal.Signals(sig).name
    ooms_after = oom_kills()
    if timed_out:
        killed_by = "timeout"
    elif ooms_before is not None and ooms_after is not None and ooms_after > ooms_before:
        killed_by = "memory"
    out, out_omitted = captures[out_r].text()
    err, err_omitted = captures[err_r].text()
    result = {
        "exit_code": exit_code,
        "stdout": out,
        "stderr": err,
        "stdout_bytes": captures[out_r].total,
        "stderr_bytes": captures[err_r].total,
        "stdout_omitted": out_omitted,
        "stderr_omitted": err_omitted,
        "timed_out": timed_out,
        "killed_by": killed_by,
        "duration_s": round(time.monotonic() - started, 6),
    }
    if not killed_all:
        result["error"] = "processes were left running after the execution"
    return result


# -- requests ------------------------------------------------------------------------------------------------
def handle(request):
    op = request.get("op")
    if op == "exec":
        kind = request.get("kind")
        if kind not in ("python", "shell"):
            raise ValueError(f"unknown kind {kind!r}")
        before = {p: (s, m) for p, s, m in list_files()[0]}
        result = run(kind, str(request["code"]), float(request["timeout_s"]), int(request["max_output"]))
        after, complete = list_files()
        result["files"] = [[p, s] for p, s, m in after if before.get(p) != (s, m)]
        result["files_complete"] = complete
        return result
    if op == "write":
        data = base64.b64decode(request["data"])
        fd = open_in_work(request["path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, create_dirs=True)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PathRefused(f"{request['path']!r} is not a regular file")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return {"size": len(data)}
    if op == "read":
        limit = int(request["max_bytes"])
        fd = open_in_work(request["path"], os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise PathRefused(f"{request['path']!r} is not a regular file")
            chunks, size = [], 0
            while size < limit:
                chunk = os.read(fd, min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
        return {
            "data": base64.b64encode(b"".join(chunks)).decode(),
            "size": st.st_size,
            "truncated": st.st_size > size,
        }
    if op == "list":
        files, complete = list_files()
        return {"files": [[p, s] for p, s, _ in files], "files_complete": complete}
    raise ValueError(f"unknown op {op!r}")


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # PID 1 ignores signals without a handler
    respond({"ready": True, "protocol": PROTOCOL, "pid": os.getpid(), "oom_kills": oom_kills() is not None})
    buffer = b""
    while True:
        while b"\n" not in buffer:
            try:
                chunk = os.read(0, 1 << 20)
            except InterruptedError:
                continue
            if not chunk:
                kill_everything_else(1.0)
                return
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            reply = handle(request)
            reply.update(id=request_id, ok=True)
        except PathRefused as exc:
            reply = {"id": request_id, "ok": False, "refused": True, "error": str(exc)}
        except FileNotFoundError as exc:
            reply = {
                "id": request_id,
                "ok": False,
                "refused": True,
                "error": f"no such file: {exc.filename or ''}".rstrip(": "),
            }
        except Exception as exc:
            reply = {"id": request_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        try:
            respond(reply)
        except OSError:
            return


if __name__ == "__main__":
    main()
