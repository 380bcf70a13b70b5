"""`agentflow schema check | sample` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentflow.decoding import check_output

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "tests" / "data" / "schemas" / "dev"
SUPPORTED = DEV / "Glaiveai2K__search_restaurant_deeb2bec.json"


def agentflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentflow", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_check_reports_support_and_minimum(tmp_path: Path) -> None:
    """Supported files report the minimum max_tokens; an unsupported one names keyword and pointer (exit 1)."""
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"type": "object", "properties": {"when": {"type": "string", "format": "topic"}}})
    )
    proc = agentflow("schema", "check", str(SUPPORTED), str(bad), "--json")
    assert proc.returncode == 1, proc.stderr
    good, refused = (json.loads(line) for line in proc.stdout.splitlines())
    assert good["supported"] and good["min_max_tokens"] > 0
    assert (
        not refused["supported"]
        and refused["keyword"] == "format"
        and refused["pointer"] == "/properties/when"
    )
    assert agentflow("schema", "check", str(SUPPORTED)).returncode == 0


def test_check_not_json_exits_2(tmp_path: Path) -> None:
    """A file that is not JSON exits 2 naming the file."""
    broken = tmp_path / "broken.json"
    broken.write_text("{oops")
    proc = agentflow("schema", "check", str(broken))
    assert proc.returncode == 2 and "broken.json is not JSON" in proc.stderr


def test_sample_prints_valid_instances(tiny_model_dir: Path, tmp_path: Path) -> None:
    """`schema sample` prints N instances of the schema itself, each valid; an unsupported schema exits 1."""
    proc = agentflow(
        "schema",
        "sample",
        str(SUPPORTED),
        "--model",
        f"transformers:{tiny_model_dir}",
        "--n",
        "3",
        "--seed",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    schema = json.loads(SUPPORTED.read_text())
    assert len(lines) == 3 and all(check_output(line, schema).ok for line in lines)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "string", "pattern": "(?<=a)b"}))
    refused = agentflow("schema", "sample", str(bad), "--model", f"transformers:{tiny_model_dir}")
    assert refused.returncode == 1 and "pattern" in refused.stderr


def test_check_with_a_model_reports_each_mask_engine(tiny_model_dir: Path, tmp_path: Path) -> None:
    """With a transformers model, `schema check` reports support per mask engine and auto's pick; a schema the
    model's forced engine cannot express is unsupported there (exit 1, keyword and pointer)."""
    wide = tmp_path / "wide.json"
    wide.write_text(
        json.dumps(
            {"type": "object", "properties": {k: {"type": "string", "maxLength": 100} for k in "abcdef"}}
        )
    )
    proc = agentflow(
        "schema", "check", str(SUPPORTED), str(wide), "--model", f"transformers:{tiny_model_dir}", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    small, big = (json.loads(line) for line in proc.stdout.splitlines())
    assert small["engines"] == {"llguidance": None, "xgrammar": None, "outlines_core": None}
    assert small["auto_engine"] in small["engines"] and small["model_engine"] == "auto"
    assert big["engines"]["xgrammar"] is None and "outlines_core" in big["engines"]
    assert big["engines"]["outlines_core"].startswith("keyword 'maxLength' at /properties/a")
    assert big["auto_engine"] != "outlines_core"
    forced = agentflow(
        "schema", "check", str(wide), "--model", f"transformers:{tiny_model_dir}?engine=outlines_core"
    )
    assert forced.returncode == 1, forced.stderr
    assert "unsupported: keyword 'maxLength' at /properties/a: mask engine outlines_core" in forced.stdout
