"""The line channel to a container's runner: its stdin / stdout over one Docker attach stream.

Without a TTY the engine multiplexes the container's output into frames (8-byte header: stream type, three
zero bytes, payload size big-endian). Stdout carries the runner's JSON reply lines; stderr only ever carries
a runner crash, of which the last few KiB are kept for the error message. Every read has a deadline and
every reply a size cap, so a runner that hangs or floods (it shares its container with untrusted code)
can neither block nor fill the host: the channel is declared broken and the container is discarded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Channel", "ChannelBroken", "ChannelTimeout"]

_STDERR_KEPT = 4096
_SEND_TIMEOUT_S = 30.0


class ChannelBroken(Exception):
    """The stream ended (container or engine gone) or carried something that is not a valid reply."""


class ChannelTimeout(ChannelBroken):
    """No reply before the deadline."""


class Channel:
    """One attach stream. Not thread-safe: one request at a time (the pool hands a container to one caller)."""

    def __init__(self, sock: Any) -> None:
        self._owner = sock  # keeps docker-py's response (and with it the connection) alive
        self._sock: Any = getattr(sock, "_sock", sock)
        self._frames = bytearray()
        self._stdout = bytearray()
        self._stderr = bytearray()
        self.closed = False
        # `close` may come from another thread while a request waits in recv: it shuts the socket down (which
        # wakes the reader) and leaves closing the descriptor to the reader, so the number cannot be reused
        # by another connection under the reader's feet
        self._state = threading.Lock()
        self._busy = False
        self._released = False

    @property
    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    @contextmanager
    def _using(self) -> Iterator[None]:
        with self._state:
            if self.closed:
                raise ChannelBroken("the sandbox stream is closed (its container was removed)")
            self._busy = True
        try:
            yield
        finally:
            with self._state:
                self._busy = False
                if self.closed:
                    self._release()

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        with self._using():
            try:
                self._sock.settimeout(_SEND_TIMEOUT_S)
                self._sock.sendall(data)
            except OSError as exc:
                self.close()
                raise ChannelBroken(f"cannot write to the sandbox ({exc})") from None

    def receive(self, deadline: float, max_bytes: int) -> dict[str, Any]:
        """The next reply line as a JSON object, by `deadline` (time.monotonic) and at most `max_bytes` long."""
        with self._using():
            return self._receive(deadline, max_bytes)

    def _receive(self, deadline: float, max_bytes: int) -> dict[str, Any]:
        while True:
            end = self._stdout.find(b"\n")
            if end >= 0:
                line = bytes(self._stdout[:end])
                del self._stdout[: end + 1]
                try:
                    reply = json.loads(line)
                except ValueError:
                    self.close()
                    raise ChannelBroken("the sandbox runner sent a line that is not JSON") from None
                if not isinstance(reply, dict):
                    self.close()
                    raise ChannelBroken("the sandbox runner sent a reply that is not an object")
                return reply
            if len(self._stdout) > max_bytes:
                self.close()
                raise ChannelBroken(f"the sandbox runner sent a reply over {max_bytes} bytes")
            self._read(deadline)

    def _read(self, deadline: float) -> None:
        if self.closed:
            raise ChannelBroken("the sandbox stream is closed")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout("the sandbox did not answer in time")
        try:
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(1 << 16)
        except TimeoutError:
            if self.closed:
                raise ChannelBroken("the sandbox container was removed") from None
            raise ChannelTimeout("the sandbox did not answer in time") from None
        except OSError as exc:
            self.close()
            raise ChannelBroken(f"the sandbox stream failed ({exc})") from None
        if not chunk:
            self.close()
            tail = self.stderr_tail.strip()
            raise ChannelBroken(
                "the sandbox container's stream ended (the container or the engine stopped)"
                + (f"; runner stderr: {tail[-500:]}" if tail else "")
            )
        self._frames += chunk
        while len(self._frames) >= 8:
            size = int.from_bytes(self._frames[4:8], "big")
            if len(self._frames) < 8 + size:
                break
            kind = self._frames[0]
            payload = self._frames[8 : 8 + size]
            if kind == 1:
                self._stdout += payload
            elif kind == 2:
                self._stderr += payload
                del self._stderr[: max(0, len(self._stderr) - _STDERR_KEPT)]
            del self._frames[: 8 + size]

    def looks_closed(self) -> bool:
        """True when the peer has closed the stream (checked without blocking; False when unsure)."""
        if self.closed:
            return True
        if not isinstance(self._sock, socket.socket) or self._stdout or self._frames:
            return False
        try:
            with self._using():
                self._sock.settimeout(
                    0
                )  # with a timeout set, Python would wait for data despite MSG_DONTWAIT
                return self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except (OSError, ChannelBroken):
            return True

    def close(self) -> None:
        """Shut the stream down (from any thread); the descriptor is closed once no request is using it."""
        with self._state:
            if not self.closed:
                self.closed = True
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass
            if not self._busy:
                self._release()

    def _release(self) -> None:  # with self._state held
        if self._released:
            return
        self._released = True
        for close in (self._sock.close, self._owner.close):
            try:
                close()
            except (OSError, AttributeError):
                pass
