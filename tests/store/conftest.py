"""The storage backends every conformance test runs against. A new backend adds one entry to BACKENDS (a
function that returns an unopened storage for a fresh database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from agentflow.store import open_storage


def _sqlite(tmp_path: Path, **options: Any) -> Any:
    return open_storage(tmp_path / "conformance.db", **options)


BACKENDS: dict[str, Callable[..., Any]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def make_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """A factory of unopened storages on one fresh database (several may be open at once: two "processes")."""
    factory = BACKENDS[request.param]
    return lambda **options: factory(tmp_path, **options)


@pytest.fixture
async def storage(make_storage: Callable[..., Any]) -> AsyncIterator[Any]:
    async with make_storage() as opened:
        yield opened
