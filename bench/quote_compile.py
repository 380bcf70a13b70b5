"""What a quoted argument (`agentflow.Quoted`) costs per request: compiling the decision grammar anew.

A decision whose tools quote the request has a grammar of its own per request text, so every new request pays
(1) agentflow's compile of the decision envelope (schema -> grammar, cached per text) and (2) the mask engine's
build of that grammar against the tokenizer. Both are measured here per request (fresh texts, nothing cached),
for the bundled tools' envelope (write_note quotes its text; the react graph's refusal on) and for a one-tool
envelope, on the demo model's tokenizer (1,024 tokens) and on a 32,000-token byte-level BPE tokenizer trained
here from Python sources (no hub), for requests of about 60, 500 and 2,000 characters. The first mask after
the build is timed too. An engine that cannot enforce a grammar says why (e.g. outlines_core's regex form
outgrows its limit on the bundled tools' envelope, quotes or not).

    .venv/bin/python bench/quote_compile.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_WORDS = (
    "note that the boiler was serviced on monday buy milk call plumber car needs new tyres remember my locker "
    'code is 4512 school play starts at 6:30 café résumé "quoted" back\\slash tab\there grandma\'s birthday '
    "March 3 pick up dry cleaning thursday router reset code 88412 passport renew before June"
).split(" ")


def request_text(rng: random.Random, chars: int) -> str:
    words = ["Note that"]
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(_WORDS) + (str(rng.randint(0, 999)) if rng.random() < 0.1 else ""))
    return " ".join(words)[:chars]


def big_tokenizer(vocab: int) -> Any:
    """A byte-level BPE tokenizer with `vocab` tokens, trained on Python sources of the environment."""
    import site

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    files = sorted(Path(site.getsitepackages()[0]).rglob("*.py"))
    texts: list[str] = []
    size = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        texts.append(text)
        size += len(text)
        if size > 40_000_000:
            break
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab,
            special_tokens=["<|eos|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|eos|>", pad_token="<|eos|>")


def measure(view: Any, engines: dict[str, Any], tools: list[Any], text: str) -> dict[str, Any]:
    import torch

    from agentflow.messages import user_message
    from agentflow.models.base import ModelRequest
    from agentflow.models.decision_grammar import compile_request

    t0 = time.perf_counter()
    compiled = compile_request(
        ModelRequest(messages=[user_message(text)], tools=tools, refusal="Sorry, I can't help with that.")
    )
    out: dict[str, Any] = {"agentflow": time.perf_counter() - t0}
    buf = torch.zeros((1, view.words), dtype=torch.int32)
    for name, engine in engines.items():
        from agentflow.decoding import EngineUnsupportedError

        t0 = time.perf_counter()
        try:
            engine.prepare(compiled)
        except EngineUnsupportedError as exc:
            out[name] = f"refused ({exc.reason[:70]})"
            continue
        built = time.perf_counter() - t0
        matcher = engine.matcher(compiled)
        t0 = time.perf_counter()
        matcher.fill(buf)
        out[name] = (built, time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="fresh requests per cell (median reported)")
    ap.add_argument("--vocab", type=int, default=32000)
    args = ap.parse_args()
    import torch
    from transformers import AutoTokenizer

    from agentflow.decoding.engines import ENGINES, make_engine
    from agentflow.decoding.engines.base import TokenizerView
    from agentflow.toolkit import DEFAULT_TOOLS

    torch.set_num_threads(1)
    started = time.perf_counter()
    tokenizers = {"demo (1,024)": AutoTokenizer.from_pretrained(REPO / "agentflow" / "models" / "demo")}
    big = big_tokenizer(args.vocab)
    tokenizers[f"BPE ({len(big):,})"] = big
    print(f"tokenizers ready in {time.perf_counter() - started:.0f} s", flush=True)
    all_tools = [t.spec for t in DEFAULT_TOOLS]
    note_only = [t.spec for t in DEFAULT_TOOLS if t.name == "write_note"]
    rng = random.Random(0)
    print(
        "\nper request, median of fresh requests: agentflow's compile of the envelope, then per engine the "
        "build against the tokenizer + the first mask (ms)"
    )
    for tok_name, tokenizer in tokenizers.items():
        view = TokenizerView.from_hf(tokenizer)
        for tools_name, tools in (("bundled tools", all_tools), ("write_note only", note_only)):
            for chars in (60, 500, 2000):
                engines = {name: make_engine(name, view) for name in ENGINES}
                rows = [measure(view, engines, tools, request_text(rng, chars)) for _ in range(args.repeat)]
                cells = [f"agentflow {1e3 * statistics.median(r['agentflow'] for r in rows):6.1f}"]
                for name in ENGINES:
                    values = [r[name] for r in rows]
                    if isinstance(values[0], str):
                        cells.append(f"{name} {values[0]}")
                    else:
                        build = 1e3 * statistics.median(v[0] for v in values)
                        mask = 1e3 * statistics.median(v[1] for v in values)
                        cells.append(f"{name} {build:7.1f} + {mask:5.2f}")
                print(f"  {tok_name:<14} {tools_name:<16} {chars:>5} chars: " + " | ".join(cells), flush=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    sys.exit(0)


if __name__ == "__main__":
    main()
