"""`SandboxPool`: warm containers, and which run owns which container.

- **Warm containers.** For every policy in use the pool keeps `warm` containers started (runner ready), each
  with its own fresh work volume. An execution that finds one pays no container start.
- **Runs.** The first execution of a run (under a policy) takes a warm container; that container's volume
  becomes the run's work dir. Later executions of the run reuse its idle containers, so `write_file` then
  `python_exec` see the same files. An execution of the run that finds all of them busy (parallel tool
  calls) gets a new container mounting the same volume (a cold start: a warm container's mounts are fixed
  at its creation). A container never changes runs: other runs cannot see its files or its processes.
- **Ends.** `release_run` removes a run's containers and its volume; `close` removes everything the pool
  made. A container whose stream broke (engine stopped, runner gone, a reply too late) is discarded.

The pool is synchronous and thread-safe (a `threading.RLock` guards its books; docker calls run outside it),
so one pool serves every event loop in the process: the async `Sandbox` calls it from worker threads, and
refills and removals run on daemon threads of their own.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from agentflow.exceptions import ConfigError, SandboxError, SandboxUnavailableError
from agentflow.sandbox.container import SandboxContainer
from agentflow.sandbox.engine import engine_errors
from agentflow.sandbox.image import image_present, image_tag
from agentflow.sandbox.ownership import owner_labels, reap_orphans, remove_volume, run_container_name
from agentflow.sandbox.policy import Policy
from agentflow.sandbox.spec import volume_spec

__all__ = ["DEFAULT_WARM", "Lease", "SandboxPool"]

DEFAULT_WARM = 2
_STARTERS = 2  # containers started at once in the background (the machine's cores are few)
log = structlog.get_logger("agentflow.sandbox")


@dataclass(slots=True, eq=False)
class _RunSlot:
    """One run's containers under one policy, all mounting `volume`."""

    run_id: str
    policy: Policy
    volume: str | None = None
    containers: list[SandboxContainer] = field(default_factory=list)
    idle: list[SandboxContainer] = field(default_factory=list)
    setup: threading.Lock = field(default_factory=threading.Lock)
    names: itertools.count = field(default_factory=lambda: itertools.count(1))
    released: bool = False
    starting: int = 0  # containers being started for the run now


@dataclass(frozen=True, slots=True)
class Lease:
    """A container lent to one execution; give it back with `SandboxPool.give_back`."""

    container: SandboxContainer
    slot: _RunSlot
    warm: bool  # the container was already running when the execution asked for it


class SandboxPool:
    """Warm sandbox containers and per-run ownership; see the module docstring.

    `warm`: containers kept ready per policy in use (0: every execution of a new run starts one).
    `image`: the image for policies that name none (default: the tag of the current definitions).
    `client`: a docker SDK client (default: `engine.connect()` on first use, which honours DOCKER_HOST).
    `reap`: on first connecting, remove containers and volumes left by dead processes (`reap_orphans`).
    """

    def __init__(
        self, *, warm: int = DEFAULT_WARM, image: str | None = None, client: Any = None, reap: bool = True
    ) -> None:
        if warm < 0:
            raise ConfigError(f"sandbox pool: warm must be >= 0 (got {warm})")
        self.warm = warm
        self.image = image
        self._client = client
        self._own_client = client is None  # made here: closed by `close`
        self._reap = reap
        self._lock = threading.RLock()  # re-entered: acquire -> _discard -> _background
        self._connect_lock = threading.Lock()
        self._starters = threading.Semaphore(_STARTERS)
        self._warm: dict[str, list[SandboxContainer]] = {}
        self._pending: dict[str, int] = {}
        self._wanted: dict[str, Policy] = {}
        self._slots: dict[tuple[str, str], _RunSlot] = {}
        self._checked: set[tuple[str, str]] = set()
        self._ops = 0  # background threads and container starts in progress (close waits for them)
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self.last_error: str | None = None

    # -- engine ----------------------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The engine's client; the first use connects (unless one was given) and reaps dead owners' leftovers."""
        if self._client is None or self._reap:
            with self._connect_lock:
                if self._client is None:
                    from agentflow.sandbox.engine import connect

                    self._client = connect()
                if self._reap:
                    self._reap = False
                    try:
                        report = reap_orphans(self._client)
                    except engine_errors() as exc:
                        log.warning("could not reap sandboxes of dead processes", error=str(exc))
                    else:
                        if report.containers or report.volumes:
                            log.info(
                                "removed sandboxes of dead processes",
                                containers=len(report.containers),
                                volumes=len(report.volumes),
                            )
        return self._client

    def image_for(self, policy: Policy) -> str:
        if self.image is None:
            self.image = image_tag()  # the definitions do not change while the process runs
        return policy.image or self.image

    def check(self, policy: Policy) -> None:
        """Raise `SandboxUnavailableError` unless the engine answers, the policy's image exists and its
        runtime is registered. Checked once per (image, runtime)."""
        image = self.image_for(policy)
        if (image, policy.runtime) in self._checked:
            return
        client = self.client
        if not image_present(client, image):
            hint = (
                "build it (a few minutes, once; needs root and debootstrap): agentflow sandbox build"
                if image == image_tag()
                else "load or build that image first"
            )
            raise SandboxUnavailableError(f"the sandbox image {image} is not in the Docker engine: {hint}")
        if policy.runtime != "runc":
            from agentflow.sandbox.engine import engine_info

            if policy.runtime not in engine_info(client).runtimes:
                raise SandboxUnavailableError(
                    f"the policy asks for runtime '{policy.runtime}' (gVisor), which the Docker engine does not "
                    "have: sudo apt-get install -y runsc, register it in the engine's daemon.json as "
                    '{"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}}} '
                    "and restart dockerd (scripts/dockerd.sh does this when runsc is installed)"
                )
        self._checked.add((image, policy.runtime))

    # -- runs ------------------------------------------------------------------------------------------------
    def acquire(self, run_id: str, policy: Policy) -> Lease:
        """A container for one execution of `run_id` under `policy` (see the module docstring)."""
        self.check(policy)
        key = (run_id, policy.digest)
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox pool is closed")
            slot = self._slots.get(key)
            if slot is not None:
                while slot.idle:
                    container = slot.idle.pop()
                    if container.alive:
                        return Lease(container, slot, warm=True)
                    slot.containers.remove(container)
                    self._discard(container)
            else:
                slot = self._slots[key] = _RunSlot(run_id=run_id, policy=policy)
                warm = self._take_warm(policy)
                if warm is not None:
                    slot.volume = warm.volume
                    slot.containers.append(warm)
                    self._background(warm.rename, run_container_name(run_id, next(slot.names)))
                    self._refill(policy)
                    return Lease(warm, slot, warm=True)
                self._refill(policy)
        return Lease(self._start_for(slot), slot, warm=False)

    def give_back(self, lease: Lease) -> None:
        """The execution is over: the container waits for the run's next one (or goes, if broken)."""
        container, slot = lease.container, lease.slot
        with self._lock:
            if not slot.released and not self._closed and container.alive:
                slot.idle.append(container)
                return
            if container in slot.containers:
                slot.containers.remove(container)
        self._discard(container)

    def release_run(self, run_id: str) -> int:
        """Remove every container of `run_id` (busy ones too) and its work volumes; returns how many
        containers. Waits until they are gone. A run that never used a sandbox costs nothing."""
        with self._lock:
            slots = [slot for key, slot in self._slots.items() if key[0] == run_id]
            for slot in slots:
                del self._slots[(run_id, slot.policy.digest)]
                slot.released = True
            # a container still starting removes itself once started; its volume must wait for that
            self._idle.wait_for(lambda: not any(slot.starting for slot in slots), timeout=120)
        containers = [c for slot in slots for c in slot.containers]
        self._remove_all(containers, [slot.volume for slot in slots if slot.volume])
        return len(containers)

    def containers(self, run_id: str) -> list[str]:
        """Ids of the containers `run_id` holds now (busy and idle)."""
        with self._lock:
            return [c.id for (rid, _), slot in self._slots.items() if rid == run_id for c in slot.containers]

    def runs(self) -> dict[str, int]:
        """Run id -> number of containers it holds now."""
        with self._lock:
            counts: dict[str, int] = {}
            for (run_id, _), slot in self._slots.items():
                counts[run_id] = counts.get(run_id, 0) + len(slot.containers)
            return counts

    def _take_warm(self, policy: Policy) -> SandboxContainer | None:
        ready = self._warm.get(policy.digest) or []
        while ready:
            container = ready.pop(0)
            if container.alive:
                return container
            self._discard(container)
        return None

    def _start_for(self, slot: _RunSlot) -> SandboxContainer:
        """A new container for a run, mounting the run's volume (made here for the run's first container)."""
        client = self.client
        with self._lock:
            slot.starting += 1
        try:
            return self._start_in(slot, client)
        finally:
            with self._lock:
                slot.starting -= 1
                self._idle.notify_all()

    def _start_in(self, slot: _RunSlot, client: Any) -> SandboxContainer:
        with self._operation():  # close and release_run wait for a start in progress
            with slot.setup:
                if slot.volume is None:
                    slot.volume = self._new_volume(slot.policy)
                number = next(slot.names)
            container = SandboxContainer.start(
                client,
                policy=slot.policy,
                image=self.image_for(slot.policy),
                volume=slot.volume,
                labels=owner_labels(slot.policy.digest, slot.run_id),
                name=run_container_name(slot.run_id, number) + "-" + uuid.uuid4().hex[:6],
            )
            with self._lock:
                if not slot.released and not self._closed:
                    slot.containers.append(container)
                    return container
            container.remove()  # released meanwhile: its volume goes with the run
        raise SandboxError(f"run {slot.run_id}'s sandbox was released while a container was starting")

    def _new_volume(self, policy: Policy) -> str:
        name = f"agentflow-sbx-vol-{uuid.uuid4().hex[:16]}"
        try:
            self.client.volumes.create(name=name, **volume_spec(policy, labels=owner_labels(policy.digest)))
        except engine_errors() as exc:
            raise SandboxError(f"the Docker engine could not create a sandbox work volume: {exc}") from None
        return name

    # -- warm containers -------------------------------------------------------------------------------------
    def prewarm(self, policy: Policy, *, wait: bool = True, timeout_s: float = 120.0) -> None:
        """Keep `warm` containers ready for `policy` from now on; with `wait`, return once they are."""
        self.check(policy)
        with self._lock:
            self._refill(policy)
            if wait:
                self._idle.wait_for(lambda: not self._pending.get(policy.digest), timeout=timeout_s)
        if wait and self.last_error and self.warm_count(policy) < self.warm:
            raise SandboxError(f"could not start warm sandbox containers: {self.last_error}")

    def warm_count(self, policy: Policy) -> int:
        with self._lock:
            return len(self._warm.get(policy.digest) or [])

    def _refill(self, policy: Policy) -> None:
        """Start background starts up to `warm` ready containers for `policy` (call with the lock held)."""
        digest = policy.digest
        self._wanted[digest] = policy
        missing = self.warm - len(self._warm.get(digest) or []) - self._pending.get(digest, 0)
        for _ in range(max(0, missing)):
            self._pending[digest] = self._pending.get(digest, 0) + 1
            self._background(self._start_warm, policy)

    def _start_warm(self, policy: Policy) -> None:
        digest = policy.digest
        container = None
        try:
            with self._starters:
                if self._closed:
                    return
                volume = self._new_volume(policy)
                try:
                    container = SandboxContainer.start(
                        self.client,
                        policy=policy,
                        image=self.image_for(policy),
                        volume=volume,
                        labels=owner_labels(digest),
                    )
                except BaseException:
                    _quietly(remove_volume, self.client, volume)
                    raise
        except Exception as exc:
            self.last_error = str(exc)
            log.warning("could not start a warm sandbox container", error=str(exc))
        finally:
            with self._lock:
                self._pending[digest] -= 1
                keep = container is not None and not self._closed
                if container is not None and keep:
                    self._warm.setdefault(digest, []).append(container)
                self._idle.notify_all()
        if container is not None and not keep:  # the pool closed meanwhile: remove it here (close waits)
            container.remove()
            _quietly(remove_volume, container.client, container.volume)

    # -- removal ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Remove every container and volume this pool made (waits for them)."""
        with self._lock:
            self._closed = True
            slots = list(self._slots.values())
            self._slots.clear()
            for slot in slots:
                slot.released = True
            warm = [c for ready in self._warm.values() for c in ready]
            self._warm.clear()
        self._join_background()
        with self._lock:  # warm containers that finished starting while closing
            warm += [c for ready in self._warm.values() for c in ready]
            self._warm.clear()
        containers = warm + [c for slot in slots for c in slot.containers]
        self._remove_all(containers, [c.volume for c in warm] + [s.volume for s in slots if s.volume])
        self._join_background()  # removals that executions ending meanwhile started
        if self._own_client and self._client is not None:
            self._client.close()

    def _join_background(self, timeout_s: float = 60.0) -> None:
        """Wait until no background thread or container start of the pool is in progress."""
        with self._lock:
            self._idle.wait_for(lambda: self._ops == 0, timeout=timeout_s)

    @contextmanager
    def _operation(self) -> Iterator[None]:
        with self._lock:
            self._ops += 1
        try:
            yield
        finally:
            with self._lock:
                self._ops -= 1
                self._idle.notify_all()

    def _remove_all(self, containers: list[SandboxContainer], volumes: list[str]) -> None:
        if not containers and not volumes:
            return
        removers = [threading.Thread(target=c.remove, daemon=True) for c in containers]
        for thread in removers:
            thread.start()
        for thread in removers:
            thread.join()
        if self._client is not None:
            for volume in dict.fromkeys(volumes):
                _quietly(remove_volume, self._client, volume)

    def _discard(self, container: SandboxContainer) -> None:
        """Remove a container no run holds any more, and its volume if it was a warm one's own."""

        def remove() -> None:
            if not container.remove():
                return  # someone else removes it (release_run, close): the volume is theirs to handle
            with self._lock:
                in_use = any(slot.volume == container.volume for slot in self._slots.values())
            if not in_use:
                _quietly(remove_volume, container.client, container.volume)

        self._background(remove)

    def _background(self, func: Any, *args: Any) -> None:
        with self._lock:
            self._ops += 1  # counted before the thread starts, so close cannot miss it

        def run() -> None:
            try:
                func(*args)
            finally:
                with self._lock:
                    self._ops -= 1
                    self._idle.notify_all()

        threading.Thread(target=run, daemon=True, name="agentflow-sandbox").start()


def _quietly(func: Any, *args: Any) -> None:
    try:
        func(*args)
    except Exception as exc:
        log.debug("sandbox cleanup failed", error=str(exc))
