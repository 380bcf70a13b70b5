"""Decoding speed: constrained (agentflow's guaranteed grammar) vs unconstrained, same model, same token count.

For each model (the bundled demo model when present, and a tiny random Llama) and each mask engine (and
auto) this prints tokens/s of unconstrained sampling and of constrained sampling of the decision schema over
the bundled tools, their ratio (goal >= 0.9), the per-token mask time (µs), the engine's compile time for the
decision grammar (first, then cached), and the schema compile time (first and cached).

    .venv/bin/python bench/decode_speed.py [--repeats 5] [--engines auto,llguidance,xgrammar,outlines_core]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def unconstrained(model: Any, prompt_ids: list[int], n_tokens: int, seed: int) -> float:
    """Tokens/s of a plain sampling loop (KV cache, temperature 1.0), the same loop shape as the guided one."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    from agentflow.decoding.driver import cache_kwarg, new_cache

    input_ids = torch.tensor([prompt_ids])
    cache, cache_arg = new_cache(model), cache_kwarg(model)
    started = time.perf_counter()
    with torch.inference_mode():
        for _ in range(n_tokens):
            out = model(input_ids=input_ids, use_cache=True, **{cache_arg: cache})
            probs = torch.softmax(out.logits[0, -1].float(), dim=-1)
            tok = int(torch.multinomial(probs, 1, generator=gen))
            input_ids = torch.tensor([[tok]])
    return n_tokens / (time.perf_counter() - started)


def bench_model(name: str, path: Path, engines: list[str], repeats: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentflow.decoding import GuidedDecoder, UnsupportedSchemaError
    from agentflow.decoding.support import clear_compile_cache
    from agentflow.models.base import ModelRequest
    from agentflow.models.decision_grammar import compile_decision
    from agentflow.models.prompt import render_chat, to_text
    from agentflow.toolkit import DEFAULT_TOOLS

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    specs = [t.spec for t in DEFAULT_TOOLS]
    clear_compile_cache()
    t0 = time.perf_counter()
    compiled = compile_decision(specs)
    first_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    compile_decision(specs)
    cached_us = (time.perf_counter() - t0) * 1e6
    request = ModelRequest(messages=[{"role": "user", "content": "What is 17 * 23 + 4?"}], tools=specs)
    prompt_ids = tokenizer(to_text(render_chat(request), tokenizer))["input_ids"]
    decoder = GuidedDecoder(model, tokenizer)
    print(
        f"{name}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M params, vocab {decoder.vocab}, "
        f"prompt {len(prompt_ids)} tokens, decision min max_tokens {compiled.min_max_tokens}"
    )
    print(f"  compile decision (schema -> grammar): {first_ms:.1f} ms first, {cached_us:.1f} µs cached")
    print(
        f"  {'engine':<24}{'tok/s':>9}{'free tok/s':>12}{'ratio':>8}{'mask µs/tok':>13}{'engine compile':>22}"
    )
    for engine in engines:
        label = engine
        try:
            resolved = decoder.resolve(compiled, engine)
        except UnsupportedSchemaError as exc:
            print(f"  {engine:<24}refused: {exc}")
            continue
        if engine == "auto":
            label = f"auto -> {resolved}"
        impl = decoder.engine_impl(resolved)
        impl._compiled.pop(compiled.lark, None)  # time a first compile even when auto's probe already did
        t0 = time.perf_counter()
        impl.prepare(compiled)
        engine_first = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        impl.prepare(compiled)
        engine_cached = (time.perf_counter() - t0) * 1e6
        decoder.sample(
            compiled,
            max_tokens=compiled.min_max_tokens,
            temperature=1.0,
            seed=0,
            prompt_ids=prompt_ids,
            engine=engine,
        )
        free, guided, mask_us = [], [], []
        for seed in range(repeats):
            sample = decoder.sample(
                compiled,
                max_tokens=compiled.min_max_tokens,
                temperature=1.0,
                seed=seed,
                prompt_ids=prompt_ids,
                engine=engine,
            )
            n = sample.n_tokens
            guided.append(n / sample.total_seconds)
            mask_us.append(sample.mask_us_per_token)
            free.append(unconstrained(model, prompt_ids, n, seed))
        g, f = statistics.median(guided), statistics.median(free)
        print(
            f"  {label:<24}{g:>9.1f}{f:>12.1f}{g / f:>8.3f}{statistics.median(mask_us):>13.1f}"
            f"{engine_first:>10.1f} ms / {engine_cached:.1f} µs",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engines", default="auto,llguidance,xgrammar,outlines_core")
    args = parser.parse_args()
    engines = args.engines.split(",")
    demo = REPO / "agentflow" / "models" / "demo"
    if (demo / "config.json").exists():
        bench_model("demo model", demo, engines, args.repeats)
    from tiny_model import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        bench_model("tiny random Llama", build_tiny_model(Path(tmp)), engines, args.repeats)


if __name__ == "__main__":
    main()
