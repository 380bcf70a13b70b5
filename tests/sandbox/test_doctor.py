"""`doctor()`: what is ready and what to install or start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentflow.sandbox import doctor, image_tag


def test_doctor_without_an_engine_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not ready; the engine check fails with the command that starts (or installs) the engine."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    report = doctor()
    engine = next(c for c in report.checks if c.name == "engine")
    assert not report.ready and engine.status == "missing" and str(tmp_path) in engine.detail
    assert engine.fix is not None and (
        "dockerd" in engine.fix or "apt-get install -y docker.io" in engine.fix
    )
    assert "not ready" in report.lines()[-1]


def test_doctor_with_engine_and_image_is_ready(docker_client: Any, sandbox_image: str) -> None:
    """With the engine up and the image built, every required check passes and the image tag is named."""
    report = doctor()
    assert report.ready, report.lines()
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["engine"] == statuses["image"] == statuses["seccomp"] == "ok"
    assert any(image_tag() in c.detail for c in report.checks) and report.as_dict()["ready"] is True
