"""`Policy`: the limits a sandbox runs under. Hardened by default; loosening is explicit and needs a reason.

The defaults here are the baseline: no network, 512 MB of memory (memory + swap), 1 CPU, 128 processes, a 30 s
wall clock, a 64 MB work dir and 64 MB /tmp, 8 KiB of output per stream. A policy may tighten anything
freely; a policy that is looser than the baseline anywhere (network "allow", more memory, a longer timeout,
...) must say why in `reason`, and `loosened()` names those fields. Policies are plain data: `as_dict()` is
what the trace records and `digest` identifies one (containers are only shared by executions under the same
digest). Files are TOML with the same field names; `sandboxes/policy.toml` is the default policy in force.

    Policy(network="allow", reason="the task downloads a dataset")   # ok
    Policy(network="allow")                                            # ConfigError: needs a reason
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentflow.exceptions import ConfigError

__all__ = ["Policy", "default_policy", "load_policy"]

# Fields where a larger number is looser. `network` and `image` are compared on their own; the output and file
# caps protect the host's memory and are bounded by their own maxima, so raising them needs no reason.
_LOOSER_WHEN_LARGER = ("memory_mb", "cpus", "pids", "timeout_s", "work_dir_mb", "tmp_mb")


class Policy(BaseModel):
    """Limits for one sandbox. Every field has the hardened default; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: Literal["none", "allow"] = Field(
        "none", description="'none': no network interface but loopback. 'allow': the engine's default bridge."
    )
    memory_mb: int = Field(
        512, ge=16, le=65536, description="Memory limit; swap is not allowed on top of it."
    )
    cpus: float = Field(1.0, gt=0, le=64, description="CPU limit (fractions allowed).")
    pids: int = Field(128, ge=8, le=32768, description="Processes and threads in the container at once.")
    timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Wall clock per execution; then everything is killed."
    )
    work_dir_mb: int = Field(64, ge=1, le=65536, description="Size of the writable work dir (/work, tmpfs).")
    tmp_mb: int = Field(64, ge=1, le=65536, description="Size of /tmp (tmpfs).")
    max_output_bytes: int = Field(
        8192, ge=256, le=16 << 20, description="Bytes kept per stream (head + tail)."
    )
    max_file_bytes: int = Field(65536, ge=0, le=64 << 20, description="Bytes returned when a file is read.")
    runtime: Literal["runc", "runsc"] = Field(
        "runc", description="'runsc' runs under gVisor (must be installed)."
    )
    image: str | None = Field(
        None, description="Image to run; None: the image `agentflow sandbox build` makes."
    )
    reason: str | None = Field(
        None, description="Why this policy is looser than the default (required then)."
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_format_error("", exc)) from None

    @model_validator(mode="after")
    def _loosening_needs_reason(self) -> Policy:
        loose = self.loosened()
        if loose and not (self.reason and self.reason.strip()):
            raise ValueError(
                "this policy is looser than the default in "
                + ", ".join(sorted(loose))
                + "; say why in 'reason'"
            )
        return self

    def loosened(self) -> dict[str, Any]:
        """The fields where this policy is looser than the baseline, with their values."""
        base = _BASELINE
        loose: dict[str, Any] = {}
        if base is None:  # building the baseline itself
            return loose
        if self.network != base.network:
            loose["network"] = self.network
        for name in _LOOSER_WHEN_LARGER:
            if getattr(self, name) > getattr(base, name):
                loose[name] = getattr(self, name)
        if self.image is not None:
            loose["image"] = self.image
        return loose

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, with every field (what the trace records)."""
        return self.model_dump(mode="json")

    @cached_property
    def digest(self) -> str:
        """12 hex characters identifying the limits (not the reason)."""
        data = self.model_dump(mode="json", exclude={"reason"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    def describe(self) -> str:
        """One line: `hardened` or what is loosened and why, plus the digest."""
        loose = self.loosened()
        if not loose:
            return f"hardened ({self.digest})"
        changes = ", ".join(f"{k}={v}" for k, v in sorted(loose.items()))
        return f"loosened: {changes}; reason: {self.reason} ({self.digest})"


_BASELINE: Policy | None = None
_BASELINE = Policy()


def _format_error(source: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown field '{where}'")
        elif where:
            problems.append(f"'{where}': {err['msg']}")
        else:
            problems.append(err["msg"].removeprefix("Value error, "))
    return f"sandbox policy{' ' + source if source else ''}: " + "; ".join(problems)


def policy_from_dict(data: dict[str, Any], *, source: str = "(dict)") -> Policy:
    """Validate `data` as a policy; fields not given keep the baseline. Errors are `ConfigError`s."""
    if not isinstance(data, dict):
        raise ConfigError(f"sandbox policy {source}: expected a table of fields, got {type(data).__name__}")
    try:
        return Policy(**data)
    except ConfigError as exc:  # Policy's own message, without the source
        raise ConfigError(str(exc).replace("sandbox policy:", f"sandbox policy {source}:", 1)) from None


def load_policy(path: str | Path) -> Policy:
    """Read a TOML policy file (fields not given keep the hardened baseline)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sandbox policy {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"sandbox policy {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sandbox policy {path}: not valid TOML ({exc})") from None
    return policy_from_dict(data, source=str(path))


@cache
def default_policy() -> Policy:
    """The default policy in force: `sandboxes/policy.toml` as shipped with the package."""
    text = resources.files("agentflow.sandboxes").joinpath("policy.toml").read_text(encoding="utf-8")
    return policy_from_dict(tomllib.loads(text), source="sandboxes/policy.toml")
