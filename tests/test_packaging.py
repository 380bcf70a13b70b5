"""pyproject.toml ships every package and data folder in the tree: one missing from the explicit list would work
in a checkout (editable install) and break in a wheel."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_and_data_folder_is_listed() -> None:
    """Each folder under a package root (code or data, e.g. the demo model's weights) is a listed package."""
    config = _config()
    listed = set(config["packages"])
    dirs = {name: Path(path) for name, path in config.get("package-dir", {}).items()}
    found = set()
    for root_name, root in [("agentflow", Path("agentflow")), *dirs.items()]:
        base = REPO / root
        found.add(root_name)
        for folder in base.rglob("*"):
            parts = folder.relative_to(base).parts
            if folder.is_dir() and "__pycache__" not in parts and any(f.is_file() for f in folder.iterdir()):
                found.add(".".join((root_name, *parts)))
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == set(), "these listed packages have no directory"


def test_the_wheel_builds_without_warnings_and_carries_the_data(tmp_path: Path) -> None:
    """Building the wheel warns about nothing (no "package would be ignored") and it holds the demo model, the
    sandbox image's runner and the viewer's assets."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "would be ignored" not in proc.stderr and "absent from the `packages`" not in proc.stderr
    (wheel,) = tmp_path.glob("agentflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "agentflow/models/demo/model.safetensors",
        "agentflow/models/demo/tokenizer.json",
        "agentflow/sandboxes/image/runner.py",
        "agentflow/sandboxes/Dockerfile",
        "agentflow/py.typed",
        "agentflow/__init__.pyi",
    } <= names
    assert not any("__pycache__" in n for n in names)
    for folder, package in (
        ("sandboxes", "agentflow/sandboxes"),
        ("agentflow/models/demo", "agentflow/models/demo"),
    ):
        shipped = {  # every file of the folder (so `agentflow sandbox build` and the demo work from a wheel)
            f"{package}/{p.relative_to(REPO / folder).as_posix()}"
            for p in (REPO / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert shipped <= names, sorted(shipped - names)


def test_test_modules_have_unique_names() -> None:
    """pytest imports test files by basename (rootdir mode): two with one name break collection of the suite."""
    names = [p.name for p in (REPO / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
