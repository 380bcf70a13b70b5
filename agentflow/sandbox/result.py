"""What one execution in a sandbox returns: `ExecResult`, with `FileInfo` / `FileContent` for the work dir.

Results are built from the in-container runner's replies, which are untrusted (the runner shares its
container with the code it runs): `RunnerReply` validates them, with every string and list bounded.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExecResult", "FileContent", "FileInfo"]

MAX_REPORTED_FILES = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class FileInfo:
    """A regular file in the work dir: its path relative to the work dir and its size in bytes."""

    path: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size}


@dataclass(frozen=True, slots=True, kw_only=True)
class FileContent:
    """A file read back from the work dir: at most the policy's `max_file_bytes` of it (`truncated` then)."""

    path: str
    data: bytes
    size: int
    truncated: bool

    def text(self) -> str:
        """The bytes read as UTF-8 (undecodable bytes replaced), with a marker when the file was cut."""
        text = self.data.decode("utf-8", "replace")
        if self.truncated:
            text += f"\n... [truncated: {self.size - len(self.data)} of {self.size} bytes not read]"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "truncated": self.truncated, "content": self.text()}


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecResult:
    """One execution: output (head and tail kept, the middle cut with a visible marker), how it ended, and the
    files it created or changed in the work dir.

    `killed_by`: None, "timeout" (the wall clock ran out: everything was killed), "memory" (the kernel's OOM
    killer), "signal SIGxxx" (another signal), or "engine" (the Docker engine failed mid-execution; `error`
    says how). `exit_code` is None when the process never ran or its status is unknown, negative for a signal.
    """

    stdout: str
    stderr: str
    exit_code: int | None
    timed_out: bool = False
    killed_by: str | None = None
    files: tuple[FileInfo, ...] = ()
    files_complete: bool = True
    stdout_omitted: int = 0
    stderr_omitted: int = 0
    duration_s: float = 0.0
    error: str | None = None
    policy: str = ""
    warm: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None

    def as_dict(self) -> dict[str, Any]:
        """The CLI's `--json` object and the tools' result: JSON-safe."""
        data: dict[str, Any] = {
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "timed_out": self.timed_out,
            "killed_by": self.killed_by,
            "files": [f.as_dict() for f in self.files],
        }
        if not self.files_complete:
            data["files_complete"] = False
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def failure(
        cls, error: str, *, killed_by: str | None = "engine", timed_out: bool = False, policy: str = ""
    ) -> ExecResult:
        """An execution that did not complete normally because of the engine or the runner."""
        return cls(
            stdout="",
            stderr="",
            exit_code=None,
            timed_out=timed_out,
            killed_by=killed_by,
            error=error,
            policy=policy,
        )


# -- the runner's replies (untrusted) ------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RunnerExec(_Strict):
    exit_code: int | None
    stdout: str = Field(max_length=64 << 20)
    stderr: str = Field(max_length=64 << 20)
    timed_out: bool
    killed_by: str | None = Field(None, max_length=64)
    stdout_omitted: int = Field(0, ge=0)
    stderr_omitted: int = Field(0, ge=0)
    duration_s: float = Field(0.0, ge=0)
    files: list[tuple[str, int]] = Field(default_factory=list, max_length=MAX_REPORTED_FILES)
    files_complete: bool = True
    error: str | None = Field(None, max_length=4096)


class RunnerRead(_Strict):
    data: str
    size: int = Field(ge=0)
    truncated: bool

    def content(self, path: str, limit: int) -> FileContent:
        data = base64.b64decode(self.data, validate=True)[:limit]
        return FileContent(
            path=path,
            data=data,
            size=max(self.size, len(data)),
            truncated=self.truncated or self.size > len(data),
        )


class RunnerList(_Strict):
    files: list[tuple[str, int]] = Field(default_factory=list, max_length=MAX_REPORTED_FILES)
    files_complete: bool = True


def files_of(entries: list[tuple[str, int]]) -> tuple[FileInfo, ...]:
    return tuple(FileInfo(path=p[:1024], size=max(0, s)) for p, s in entries)
