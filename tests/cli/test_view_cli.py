"""`agentflow runs view | export` in a subprocess: the HTML file, serving on loopback, OTLP export, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentflow.store import open_storage

from trace_runs import record_plan_execute

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


def agentflow(*args: str, db: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTFLOW_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=cwd,
    )


async def test_view_writes_a_self_contained_file(db_path: Path, tmp_path: Path) -> None:
    """`runs view RUN -o FILE` writes the page and prints its path; without -o it goes to ./agentflow-run-ID.html."""
    run_id = await record_plan_execute(db_path)
    out = tmp_path / "view.html"
    proc = agentflow("runs", "view", run_id[:8], "-o", str(out), db=db_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out) and "open it in a browser" in proc.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and run_id in html and "executor:s1" in html
    proc = agentflow("runs", "view", run_id, "--no-graph", db=db_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / f"agentflow-run-{run_id}.html").exists()


async def test_view_of_an_unknown_run_is_a_usage_error(db_path: Path) -> None:
    """An unknown run id exits 2 with one line naming it."""
    async with open_storage(db_path):  # an empty database
        pass
    proc = agentflow("runs", "view", "nosuchrun", db=db_path)
    assert proc.returncode == 2 and "no run 'nosuchrun'" in proc.stderr


async def test_serve_answers_on_loopback_until_stopped(db_path: Path) -> None:
    """`--serve --port 0` prints its loopback URL, serves the page there, and stops on SIGTERM."""
    run_id = await record_plan_execute(db_path)
    command = [
        sys.executable,
        "-m",
        "agentflow",
        "runs",
        "view",
        run_id,
        "--serve",
        "--port",
        "0",
        "--db",
        str(db_path),
    ]
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=REPO
    ) as proc:
        try:
            assert proc.stderr is not None
            lines = iter(proc.stderr.readline, "")  # the URL is printed once the socket listens
            line = next((x for x in lines if x.startswith("serving run ")), "")
            assert line.startswith(f"serving run {run_id} at http://127.0.0.1:"), line
            url = line.split(" at ", 1)[1].split(" ", 1)[0]
            page = httpx.get(url, timeout=30)
            assert page.status_code == 200 and run_id in page.text
            assert "default-src 'none'" in page.text
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def test_export_to_a_file_and_argument_errors(db_path: Path, tmp_path: Path) -> None:
    """`runs export --file` writes OTLP JSON; giving neither or both targets, or a bad URL, exits 2."""
    pytest.importorskip("opentelemetry.sdk")
    run_id = await record_plan_execute(db_path)
    out = tmp_path / "spans.json"
    proc = agentflow("runs", "export", run_id, "--file", str(out), db=db_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"exported 19 spans of run {run_id} to {out}"
    assert json.loads(out.read_text())["resourceSpans"]
    neither = agentflow("runs", "export", run_id, db=db_path)
    assert neither.returncode == 2 and "exactly one of --otlp URL and --file PATH" in neither.stderr
    bad = agentflow("runs", "export", run_id, "--otlp", "collector:4318", db=db_path)
    assert bad.returncode == 2 and "http:// or https://" in bad.stderr
