"""pyproject.toml ships every package in the tree: a subpackage missing from the explicit list would work in a
checkout (editable install) and break in a wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    dirs = {name: Path(path) for name, path in config.get("package-dir", {}).items()}
    found = set()
    for root_name, root in [("agentflow", Path("agentflow")), *dirs.items()]:
        for init in (REPO / root).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / root).parts
            found.add(".".join((root_name, *parts)))
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == set(), "these listed packages have no directory"


def test_the_demo_model_files_are_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "demo/*" in config["package-data"]["agentflow.models"]
