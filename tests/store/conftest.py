"""The storage backends every conformance test runs against. A new backend adds one entry to BACKENDS (a
function that returns the path or URL of a fresh database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from agentflow.store import open_storage


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "conformance.db")


def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url: str = request.getfixturevalue("pg_url")  # a fresh database on a real server (tests/pg_fixtures.py)
    return url


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(BACKENDS))
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend (a path or URL)."""
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def make_storage(db_url: str) -> Callable[..., Any]:
    """A factory of unopened storages on one fresh database (several may be open at once: two "processes")."""
    return lambda **options: open_storage(db_url, **options)


@pytest.fixture
async def storage(make_storage: Callable[..., Any]) -> AsyncIterator[Any]:
    async with make_storage() as opened:
        yield opened
