"""`SandboxContainer`: one started, hardened container with its runner, and the requests it answers.

Blocking code on the docker SDK: the pool calls it from worker threads. A container serves one request at a
time. Any failure of the stream (the engine stopped, the container died, a reply that is late, oversized or
malformed) marks the container dead; the pool then discards it.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from typing import Any

from pydantic import ValidationError

from agentflow.exceptions import SandboxError, SandboxPathError
from agentflow.sandbox.channel import Channel, ChannelBroken, ChannelTimeout
from agentflow.sandbox.engine import engine_errors
from agentflow.sandbox.ownership import remove_container
from agentflow.sandbox.policy import Policy
from agentflow.sandbox.result import RunnerExec, RunnerList, RunnerRead
from agentflow.sandbox.spec import container_spec

__all__ = ["GRACE_S", "READY_TIMEOUT_S", "SandboxContainer"]

PROTOCOL = 1
READY_TIMEOUT_S = 60.0
GRACE_S = 15.0  # after an execution's own timeout: the runner kills, reaps and lists files in this time
_REQUEST_TIMEOUT_S = 30.0  # file requests
_OVERHEAD = 1 << 20  # reply bytes besides output and file data


class SandboxContainer:
    """A running sandbox container. Create with `SandboxContainer.start`; discard with `remove`."""

    def __init__(
        self, client: Any, container_id: str, name: str, channel: Channel, *, volume: str, policy: Policy
    ) -> None:
        self.client = client
        self.id = container_id
        self.name = name
        self.volume = volume
        self.policy = policy
        self._channel = channel
        self._ids = itertools.count(1)
        self._removed = threading.Event()  # removal started: no more requests
        self._gone = threading.Event()  # removal finished
        self._remove_lock = threading.Lock()

    @classmethod
    def start(
        cls,
        client: Any,
        *,
        policy: Policy,
        image: str,
        volume: str,
        labels: dict[str, str],
        name: str | None = None,
    ) -> SandboxContainer:
        """Create, attach, start; return once the runner says it is ready. Raises `SandboxError`."""
        errors = engine_errors()
        try:
            spec = container_spec(client, policy, image=image, volume=volume, labels=labels)
            container_id = client.api.create_container(name=name, **spec)["Id"]
        except errors as exc:
            raise SandboxError(
                f"the Docker engine could not create a sandbox container: {_short(exc)}"
            ) from None
        failures: tuple[type[BaseException], ...] = (*errors, ChannelBroken)
        try:
            sock = client.api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            channel = Channel(sock)
            client.api.start(container_id)
            hello = channel.receive(time.monotonic() + READY_TIMEOUT_S, 4096)
        except failures as exc:
            remove_container(client, container_id)
            raise SandboxError(f"a sandbox container did not start: {_short(exc)}") from None
        except BaseException:
            remove_container(client, container_id)
            raise
        if hello.get("ready") is not True or hello.get("protocol") != PROTOCOL:
            channel.close()
            remove_container(client, container_id)
            raise SandboxError(
                f"the sandbox image's runner speaks another protocol ({hello!r}); rebuild the "
                "image: agentflow sandbox build"
            )
        return cls(client, container_id, name or container_id[:12], channel, volume=volume, policy=policy)

    @property
    def alive(self) -> bool:
        return not self._removed.is_set() and not self._channel.looks_closed()

    # -- requests --------------------------------------------------------------------------------------------
    def execute(self, kind: str, code: str, *, timeout_s: float) -> RunnerExec:
        """Run code (`kind` python | shell); the runner kills everything at `timeout_s`. Raises ChannelBroken
        (the container is dead then; ChannelTimeout if it did not answer within the grace period)."""
        limit = self.policy.max_output_bytes
        reply = self._request(
            {"op": "exec", "kind": kind, "code": code, "timeout_s": timeout_s, "max_output": limit},
            timeout_s + GRACE_S,
            16 * limit + _OVERHEAD,
        )
        return _validate(RunnerExec, reply, self)

    def write(self, path: str, data: bytes) -> int:
        reply = self._request(
            {"op": "write", "path": path, "data": base64.b64encode(data).decode()},
            _REQUEST_TIMEOUT_S,
            _OVERHEAD,
        )
        return int(reply.get("size", len(data)))

    def read(self, path: str) -> RunnerRead:
        limit = self.policy.max_file_bytes
        reply = self._request(
            {"op": "read", "path": path, "max_bytes": limit}, _REQUEST_TIMEOUT_S, 2 * limit + _OVERHEAD
        )
        return _validate(RunnerRead, reply, self)

    def list(self) -> RunnerList:
        return _validate(RunnerList, self._request({"op": "list"}, _REQUEST_TIMEOUT_S, _OVERHEAD), self)

    def _request(self, message: dict[str, Any], timeout_s: float, max_bytes: int) -> dict[str, Any]:
        if self._removed.is_set():
            raise ChannelBroken("the sandbox container was removed")
        request_id = next(self._ids)
        self._channel.send({**message, "id": request_id})
        try:
            reply = self._channel.receive(time.monotonic() + timeout_s, max_bytes)
        except ChannelTimeout:
            self.remove()
            raise
        if reply.get("id") != request_id:
            self.remove()
            raise ChannelBroken("the sandbox runner answered out of order")
        if reply.get("ok") is True:
            return reply
        error = str(reply.get("error"))[:1000]
        if reply.get("refused"):
            raise SandboxPathError(error)
        raise SandboxError(f"the sandbox runner failed: {error}")

    # -- lifetime --------------------------------------------------------------------------------------------
    def rename(self, name: str) -> None:
        try:
            self.client.api.rename(self.id, name)
            self.name = name
        except engine_errors():
            pass  # a name is for people reading `docker ps`; the pool knows the owner either way

    def remove(self) -> bool:
        """Kill and remove the container; returns once it is gone (also when another thread is removing it:
        then it waits for that, and returns False)."""
        with self._remove_lock:
            first = not self._removed.is_set()
            self._removed.set()
        if not first:
            self._gone.wait(timeout=60)
            return False
        self._channel.close()
        try:
            remove_container(self.client, self.id)
        except Exception:  # the engine may be gone; reap_orphans removes what is left
            pass
        finally:
            self._gone.set()
        return True


def _validate(model: Any, reply: dict[str, Any], container: SandboxContainer) -> Any:
    try:
        return model.model_validate(reply)
    except ValidationError as exc:
        container.remove()
        raise ChannelBroken(
            f"the sandbox runner sent an invalid reply ({exc.error_count()} problems)"
        ) from None


def _short(exc: BaseException) -> str:
    return str(exc).replace("\n", " ")[:300]
