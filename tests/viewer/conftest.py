"""A real headless Chromium (Debian's `chromium`, driven by playwright) for the view's browser tests.

Missing Chromium or playwright skips those tests on a developer's machine and FAILS them under CI (`CI=true`),
where `.ci/run` installs Chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("AGENTFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(
            f"{what}: the browser tests of the run view must run under CI (.ci/run installs chromium)"
        )
    pytest.skip(f"{what} (CI=true makes this a failure)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (the dev extra has it)")
    if not os.path.exists(CHROMIUM):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
