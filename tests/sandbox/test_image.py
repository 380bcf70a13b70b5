"""The image's content-hash tags, and building as a no-op when it is up to date."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from agentflow.sandbox import build_image, image as image_module, image_tag


@pytest.fixture
def definitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped definitions that the image module reads instead."""
    copy = tmp_path / "sandboxes"
    shutil.copytree(
        str(resources.files("agentflow.sandboxes")), copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(image_module, "_definitions", lambda: copy)
    return copy


def test_tags_follow_the_definitions(definitions: Path) -> None:
    """Same definitions, same tags; a changed runner changes the image tag only; a changed package list both."""
    base, tag = image_module.base_tag(), image_tag()
    assert tag.startswith("agentflow-sandbox:") and base.startswith("agentflow-sandbox-base:")
    runner = definitions / "image" / "runner.py"
    runner.write_text(runner.read_text() + "\n# changed\n")
    assert image_module.base_tag() == base and image_tag() != tag
    changed = image_tag()
    (definitions / "packages.txt").write_text((definitions / "packages.txt").read_text() + "python3-scipy\n")
    assert image_module.base_tag() != base and image_tag() not in (tag, changed)


def test_the_package_list_has_python_numpy_and_pandas() -> None:
    """The base image's packages include Python 3 with numpy and pandas (comments ignored)."""
    assert {"python3", "python3-numpy", "python3-pandas"} <= set(image_module.read_packages())


def test_building_an_up_to_date_image_does_nothing(docker_client: Any, sandbox_image: str) -> None:
    """With both tags present, build_image builds nothing and reports the current tag."""
    lines: list[str] = []
    report = build_image(docker_client, log=lines.append)
    assert report.tag == sandbox_image and not report.built_base and not report.built_image
    assert any("up to date" in line for line in lines)
