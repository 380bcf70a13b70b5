"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from crash_harness import Harness


@pytest.fixture(params=["sqlite", "postgresql"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """The crash-test harness (tests/crash_harness.py) in a fresh folder, on a fresh database of each backend
    (a SQLite file; a database on the PostgreSQL test server)."""
    if request.param == "postgresql":
        return Harness(tmp_path, db=request.getfixturevalue("pg_url"))
    return Harness(tmp_path)
