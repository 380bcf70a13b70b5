"""Validity benchmark (transformers backend): agentflow's bounded grammar under each mask engine vs the raw
library defaults.

Random-weights tiny Llama (tests/tiny_model.py), temperature 1.0, over the vendored dev schemas:
- coverage: fraction of schemas the engine accepts (agentflow: supported by that mask engine; raw: the
  library compiles the schema without error);
- compliance: fraction of samples that are strict JSON and validate against the original schema with
  formats checked (agentflow.decoding.check_output), over all attempted samples of covered schemas.

Rows `agentflow:ENGINE` decode in agentflow's loop (`GuidedDecoder`, engine ENGINE or auto) with max_tokens =
the reported minimum. Rows `raw:ENGINE` run the library's own JSON-schema compiler through outlines 1.3
(`outlines.types.JsonSchema`) with `max_new_tokens` = --raw-max-tokens (default 256): the comparison column,
not something agentflow offers. Not part of CI. Example:

    python bench/validity.py --limit 0 --samples 3 \
        --engines agentflow:auto,agentflow:llguidance,agentflow:xgrammar,agentflow:outlines_core,raw:xgrammar
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def dev_schemas(limit: int | None) -> dict[str, Any]:
    """The vendored dev schemas by file name; `limit` of them, evenly spaced, when given."""
    files = sorted((REPO / "tests" / "data" / "schemas" / "dev").glob("*.json"))
    if limit:
        step = max(1, len(files) // limit)
        files = files[::step][:limit]
    return {p.name: json.loads(p.read_text()) for p in files}


def bench_agentflow(engine: str, schemas: dict[str, Any], dec: Any, samples: int) -> dict[str, Any]:
    from agentflow.decoding import UnsupportedSchemaError, check_output, compile_schema

    covered = valid = total = tokens = 0
    mask_s = spent = 0.0
    for schema in schemas.values():
        try:
            comp = compile_schema(schema)
            dec.resolve(comp, engine)
        except UnsupportedSchemaError:
            continue
        covered += 1
        for seed in range(samples):
            s = dec.sample(comp, max_tokens=comp.min_max_tokens, temperature=1.0, seed=seed, engine=engine)
            total += 1
            tokens += s.n_tokens
            mask_s += s.mask_seconds
            spent += s.total_seconds
            valid += check_output(s.text, schema).ok
    return {
        "covered": covered,
        "valid": valid,
        "total": total,
        "mask_us_per_token": 1e6 * mask_s / max(tokens, 1),
        "s_per_sample": spent / max(total, 1),
    }


def bench_raw(
    backend: str, schemas: dict[str, Any], model: Any, tok: Any, samples: int, max_new_tokens: int
) -> dict[str, Any]:
    import outlines
    import torch

    from agentflow.decoding import check_output

    om = outlines.from_transformers(model, tok)
    covered = valid = total = 0
    spent = 0.0
    for schema in schemas.values():
        try:
            gen = outlines.Generator(om, outlines.types.JsonSchema(json.dumps(schema)), backend=backend)
        except Exception:
            continue
        covered += 1
        for seed in range(samples):
            torch.manual_seed(seed)
            started = time.perf_counter()
            try:
                text = gen(tok.eos_token, max_new_tokens=max_new_tokens, do_sample=True, temperature=1.0)
            except Exception:
                text = ""
            spent += time.perf_counter() - started
            total += 1
            valid += check_output(text, schema).ok
    return {"covered": covered, "valid": valid, "total": total, "s_per_sample": spent / max(total, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=40, help="number of dev schemas (evenly spaced); 0 = all")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--raw-max-tokens", type=int, default=256)
    ap.add_argument(
        "--engines",
        default="agentflow:auto,agentflow:llguidance,agentflow:xgrammar,"
        "agentflow:outlines_core,raw:llguidance,raw:xgrammar,raw:outlines_core",
    )
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentflow.decoding.driver import GuidedDecoder

    from tiny_model import build_tiny_model

    torch.set_num_threads(1)
    schemas = dev_schemas(args.limit or None)
    with tempfile.TemporaryDirectory() as tmp:
        build_tiny_model(Path(tmp), vocab_size=768)
        tok = AutoTokenizer.from_pretrained(tmp)
        model = AutoModelForCausalLM.from_pretrained(tmp).eval()
    dec = GuidedDecoder(model, tok)
    print(f"{len(schemas)} dev schemas, {args.samples} samples each, temperature 1.0, random tiny Llama")
    print(f"{'engine':<28}{'coverage':>10}{'compliance':>12}{'s/sample':>10}{'mask us/tok':>13}")
    for row in args.engines.split(","):
        kind, _, engine = row.partition(":")
        started = time.perf_counter()
        if kind == "agentflow":
            r = bench_agentflow(engine or "auto", schemas, dec, args.samples)
            label = f"agentflow {engine or 'auto'}"
        else:
            r = bench_raw(engine, schemas, model, tok, args.samples, args.raw_max_tokens)
            label = f"raw {engine} @{args.raw_max_tokens}"
        cov = r["covered"] / len(schemas)
        comp = r["valid"] / max(r["total"], 1)
        mask = f"{r['mask_us_per_token']:.0f}" if "mask_us_per_token" in r else "-"
        print(
            f"{label:<28}{cov:>9.1%}{comp:>11.1%} {r['s_per_sample']:>9.2f}{mask:>13}"
            f"   ({r['valid']}/{r['total']} valid, {time.perf_counter() - started:.0f}s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
