"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from crash_harness import Harness


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    """The crash-test harness (tests/crash_harness.py) in a fresh folder."""
    return Harness(tmp_path)
