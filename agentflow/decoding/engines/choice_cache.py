"""What `auto` measured, kept on disk: the next process decodes the same schema without measuring again.

Measuring means building the grammar in every engine (a few hundred ms for a decision schema); a CLI run pays
that once per process. The choice is stored under a digest of the grammar, the tokenizer's fingerprint, the
engines considered and their versions, in `$AGENTFLOW_CACHE_DIR` (default `$XDG_CACHE_HOME/agentflow`, else
`~/.cache/agentflow`) as `engine-choices.json`. A stored choice is only a hint: the engine still builds and
checks the grammar before decoding, and an engine that refuses it sends `auto` back to measuring. The file
holds nothing but digests and engine names; an unreadable or unwritable cache is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = ["ChoiceCache", "cache_dir"]

_FILE = "engine-choices.json"
_MAX_ENTRIES = 512
_PACKAGES = {"llguidance": "llguidance", "xgrammar": "xgrammar", "outlines_core": "outlines_core"}


def cache_dir() -> Path:
    """agentflow's cache directory (not created here)."""
    explicit = os.environ.get("AGENTFLOW_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agentflow"


@cache
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


class ChoiceCache:
    """Engine choices by (grammar, tokenizer, engines) digest, read once and written through."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._entries: dict[str, str] | None = None
        self._loaded_from: Path | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path or cache_dir() / _FILE

    @staticmethod
    def key(grammar: str, fingerprint: str, names: tuple[str, ...]) -> str:
        versions = ",".join(f"{n}={_version(_PACKAGES.get(n, n))}" for n in names)
        text = "\0".join((grammar, fingerprint, ",".join(names), versions))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, engine: str) -> None:
        with self._lock:
            entries = self._load()
            if entries.get(key) == engine:
                return
            entries.pop(key, None)
            entries[key] = engine
            while len(entries) > _MAX_ENTRIES:
                entries.pop(next(iter(entries)))
            self._write(entries)

    def forget(self, key: str) -> None:
        with self._lock:
            entries = self._load()
            if entries.pop(key, None) is not None:
                self._write(entries)

    def _load(self) -> dict[str, str]:
        if self._entries is None or self._loaded_from != self.path:  # the cache directory may be changed
            self._loaded_from = self.path
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._entries = (
                    {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
                    if isinstance(data, dict)
                    else {}
                )
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def _write(self, entries: dict[str, str]) -> None:
        """Atomically replace the file (a concurrent writer's entries may be lost: it is only a cache)."""
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".engine-choices.")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entries, f)
            os.replace(tmp, path)
        except OSError:  # e.g. a full disk: leave no temporary file behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)
