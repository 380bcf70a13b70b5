"""Which database a run uses: a URL (`sqlite:///path/runs.db`, `postgresql://...`) or a plain path.

`--db` wins over `$AGENTFLOW_DB`, which wins over the default file
`$XDG_DATA_HOME/agentflow/agentflow.db` (`~/.local/share/agentflow/agentflow.db`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from agentflow.exceptions import ConfigError

__all__ = ["DatabaseURL", "default_db_path", "parse_db_url", "resolve_db_url"]

SCHEMES = ("sqlite", "postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed database location: `backend` ("sqlite" or "postgresql"), `path` for SQLite files, and the URL
    as given (for PostgreSQL, what the driver connects to)."""

    backend: str
    url: str
    path: Path | None = None

    def __str__(self) -> str:
        return (
            str(self.path)
            if self.backend == "sqlite" and self.path is not None
            else _without_password(self.url)
        )


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentflow" / "agentflow.db"


def parse_db_url(value: str | os.PathLike[str]) -> DatabaseURL:
    """`sqlite:///abs/path`, `sqlite:///./rel/path`, `postgresql://user@host/db`, or a plain file path."""
    text = os.fspath(value)
    if not text.strip():
        raise ConfigError("empty database location; give a file path or a URL like sqlite:///runs.db")
    scheme, sep, _ = text.partition("://")
    if not sep or scheme not in SCHEMES:
        if sep and "/" not in scheme and "\\" not in scheme:
            raise ConfigError(
                f"unknown database URL scheme {scheme!r} in {text!r} (sqlite://, postgresql://)"
            )
        return DatabaseURL("sqlite", text, Path(text).expanduser())
    if scheme == "sqlite":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"{text!r}: a sqlite URL names a local file (sqlite:///path), not a host")
        path = unquote(parts.path)
        if path.startswith("/./") or path.startswith("/~"):
            path = path[1:]
        if not path or path == "/":
            raise ConfigError(f"{text!r} names no file (sqlite:///path/to/runs.db)")
        return DatabaseURL("sqlite", text, Path(path).expanduser())
    return DatabaseURL("postgresql", text)


def resolve_db_url(db: str | os.PathLike[str] | None = None) -> DatabaseURL:
    """`db` if given, else `$AGENTFLOW_DB`, else the default file."""
    if db is not None:
        return parse_db_url(db)
    env = os.environ.get("AGENTFLOW_DB")
    return parse_db_url(env) if env else DatabaseURL("sqlite", str(default_db_path()), default_db_path())


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
