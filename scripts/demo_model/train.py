"""Train agentflow's demo model from scratch on synthetic episodes (plain PyTorch, CPU, seedable).

    python scripts/demo_model/train.py                      # the shipped model: writes agentflow/models/demo/
    python scripts/demo_model/train.py --steps 300 --out /tmp/demo-quick   # a quick pipeline check

Steps: generate training tasks (tasks.py) -> play them through the real tools (data.py) -> learn the BPE
tokenizer on the training text -> render every episode with agentflow's prompt code and the model's chat
template (plus copy drills and first-decision cuts) -> train a small Llama: first `--drill-steps` steps on short
copy drills only (a copy curriculum), then the mix, the loss weighted 1 on decision tokens and
`--context-weight` on the text it reads -> save a standard Hugging Face
directory (config.json, model.safetensors, tokenizer files with the chat template, training.json, CHECKSUMS)
plus agentflow.json, the decoding defaults agentflow applies to it (answers grounded in the conversation).

Validation during training is teacher-forced: a held-out decision counts as right when the argmax of every
one of its tokens is the target token, which is exactly when greedy decoding reproduces it. The full check
through the ReAct graph is bench/demo_eval.py.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import tasks  # noqa: E402
from tokenizer import build_tokenizer, save_tokenizer  # noqa: E402

DEFAULT_OUT = REPO / "agentflow" / "models" / "demo"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tasks", type=int, default=48000, help="training tasks (episodes)")
    p.add_argument("--val-tasks", type=int, default=300, help="held-out tasks for teacher-forced validation")
    p.add_argument("--steps", type=int, default=7000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--vocab", type=int, default=1024)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument(
        "--heads", type=int, default=2, help="attention heads (head size = hidden / heads; keep it 64)"
    )
    p.add_argument("--intermediate", type=int, default=384)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a busy 2-core machine 2 threads ran 1.7 s/step, 1 thread 0.37 s/step)",
    )
    p.add_argument("--val-every", type=int, default=300)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument(
        "--context-weight",
        type=float,
        default=0.2,
        help="loss weight of the tokens the model reads (requests, observations) next to the decisions' "
        "1.0: more signal per sequence for the embeddings and the attention that copies",
    )
    p.add_argument(
        "--copy-drills",
        type=float,
        default=0.3,
        help="extra sequences, this fraction of the tasks, where the model repeats a random snippet of "
        "training text: they grow the attention heads that copy (arguments, observations) early",
    )
    p.add_argument(
        "--first-decision-copies",
        type=float,
        default=1.0,
        help="fraction of multi-turn episodes also trained on cut after their first decision (request -> "
        "tool call): short sequences that practise the hardest part, copying arguments over",
    )
    p.add_argument(
        "--drill-steps",
        type=int,
        default=600,
        help="the first this many steps train on copy drills only (fresh ones, not the mix's): a copy "
        "curriculum, so the attention that copies forms before the episodes need it",
    )
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------------------- batches


def batches(lengths: list[int], batch: int, rng: random.Random):
    """Endless batches of indices; similar lengths grouped (less padding), order shuffled, seeded."""
    while True:
        order = list(range(len(lengths)))
        rng.shuffle(order)
        pool = batch * 64
        chunks = []
        for start in range(0, len(order), pool):
            group = sorted(order[start : start + pool], key=lambda i: lengths[i])
            chunks += [
                group[i : i + batch]
                for i in range(0, len(group), batch)
                if len(group[i : i + batch]) == batch
            ]
        rng.shuffle(chunks)
        yield from chunks


def collate(rows: list[tuple[list[int], list[int]]], pad_id: int, context_weight: float = 0.0):
    """Padded ids, attention mask, decision-only labels (for validation) and per-token loss weights (decision
    tokens 1, the rest `context_weight`, padding 0)."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    weights = torch.zeros((len(rows), width), dtype=torch.float)
    for r, (ids, mask) in enumerate(rows):
        n = len(ids)
        input_ids[r, :n] = torch.tensor(ids)
        attention[r, :n] = 1
        labels[r, :n] = torch.tensor([t if m else -100 for t, m in zip(ids, mask, strict=True)])
        weights[r, :n] = torch.tensor([1.0 if m else context_weight for m in mask])
    return input_ids, attention, labels, weights


def weighted_loss(logits: Any, input_ids: Any, weights: Any) -> Any:
    import torch

    target = input_ids[:, 1:]
    w = weights[:, 1:]
    per_token = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none"
    ).view_as(w)
    return (per_token * w).sum() / w.sum().clamp(min=1.0)


def copy_drills(
    episodes: list[Any], n: int, tokenizer: Any, seed: int, max_words: int = 12
) -> list[tuple[list[int], list[int]]]:
    """`n` sequences "<|user|>Repeat exactly: X<|assistant|>{"reasoning":"Repeat it.","final_answer":"X"}<|eos|>"
    with X a random snippet of the training episodes' text (requests, observations, decisions)."""
    rng = random.Random(seed + 11)
    texts = [m["content"] for e in episodes for m in e.messages[1:]]
    rows = []
    for _ in range(n):
        text = rng.choice(texts)
        words = text.split()
        start = rng.randrange(len(words))
        snippet = " ".join(words[start : start + rng.randint(1, max_words)])[:120]
        target = data.decision_json({"reasoning": "Repeat it.", "final_answer": snippet}) + data.EOS
        prompt = data.USER + f"Repeat exactly: {snippet}" + data.ASSISTANT
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        t_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
        rows.append((p_ids + t_ids, [0] * len(p_ids) + [1] * len(t_ids)))
    return rows


# ---------------------------------------------------------------------------------------------- validation


def validate(
    model: Any, rows: list[tuple[list[int], list[int]]], skills: list[str], pad_id: int
) -> dict[str, Any]:
    """Teacher-forced exact match of whole decisions, overall and per skill."""
    import torch

    model.eval()
    right: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    episodes_right: collections.Counter[str] = collections.Counter()
    loss_sum, loss_n = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(rows), 32):
            chunk = rows[start : start + 32]
            input_ids, attention, labels, _ = collate(chunk, pad_id)
            out = model(input_ids=input_ids, attention_mask=attention)
            logits = out.logits[:, :-1]
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum"
            )
            loss_sum += float(loss)
            loss_n += int((target != -100).sum())
            pred = logits.argmax(-1)
            for r, (_, mask) in enumerate(chunk):
                skill = skills[start + r]
                m = mask[1:]
                # decisions are maximal runs of mask == 1
                ok_all = True
                i = 0
                while i < len(m):
                    if m[i]:
                        j = i
                        while j < len(m) and m[j]:
                            j += 1
                        ok = bool((pred[r, i:j] == target[r, i:j]).all())
                        total[skill] += 1
                        right[skill] += ok
                        ok_all &= ok
                        i = j
                    else:
                        i += 1
                episodes_right[skill] += ok_all
    model.train()
    n_episodes = collections.Counter(skills)
    return {
        "loss": loss_sum / max(loss_n, 1),
        "decisions": sum(right.values()) / max(sum(total.values()), 1),
        "episodes": sum(episodes_right.values()) / len(rows),
        "per_skill": {s: round(episodes_right[s] / n_episodes[s], 3) for s in sorted(n_episodes)},
    }


# ------------------------------------------------------------------------------------------------- helpers


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(directory: Path) -> None:
    names = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != "CHECKSUMS")
    lines = [f"{sha256(directory / n)}  {n}" for n in names]
    (directory / "CHECKSUMS").write_text("\n".join(lines) + "\n")


def val_tasks(seed: int, n: int, exclude: set[str]) -> list[tasks.Task]:
    per = {k: max(1, round(n * w)) for k, w in tasks.TRAIN_MIX.items() if k != "error"}
    out: list[tasks.Task] = []
    for skill, count in per.items():
        out += tasks.eval_tasks(skill, count, seed=seed + 1000, exclude=exclude)
    return out


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    started = time.time()

    log(f"generating {args.tasks} training tasks (seed {args.seed})")
    train_tasks = tasks.training_tasks(args.seed, args.tasks)
    train_requests = {t.request for t in train_tasks}
    tasks.check_held_out(train_requests)  # the hand-written eval sets stay unseen (raises naming any leak)
    log(f"none of the {len(tasks.held_out_requests())} hand-written eval requests is a training request")
    episodes = data.play_all(train_tasks, args.seed)
    validation = val_tasks(args.seed, args.val_tasks, train_requests)
    val_episodes = data.play_all(validation, args.seed + 1)
    log(f"{len(episodes)} episodes, {len(val_episodes)} validation episodes ({time.time() - started:.0f} s)")
    # the model's answers are decoded grounded (agentflow.json below): every training answer must be allowed
    words = data.answer_vocabulary(episodes)
    ungrounded = data.ungrounded_answers(episodes[:5000], words)
    if ungrounded:
        raise SystemExit(f"training answers the grounded answer grammar would refuse: {ungrounded[:5]}")
    log(f"answer words beyond the conversation: {len(words)}; every sampled training answer is grounded")

    tokenizer = build_tokenizer(data.tokenizer_corpus(episodes), args.vocab)
    rows = [data.render(e, tokenizer) for e in episodes]
    rng_cut = random.Random(args.seed + 7)
    cuts = []
    for ids, mask in rows:
        if rng_cut.random() < args.first_decision_copies and 0 in mask[mask.index(1) :]:
            end = mask.index(0, mask.index(1))  # first token after decision 1 (and its eos)
            cuts.append((ids[:end], mask[:end]))
    rows += cuts
    drills = copy_drills(episodes, int(args.copy_drills * len(episodes)), tokenizer, args.seed)
    rows += drills
    val_rows = [data.render(e, tokenizer) for e in val_episodes]
    val_skills = [e.task.skill for e in val_episodes]
    lengths = [len(ids) for ids, _ in rows]
    n_tokens = sum(lengths)
    log(
        f"tokenizer: {len(tokenizer)} tokens; {len(rows)} training sequences ({len(cuts)} cut after the first "
        f"decision, {len(drills)} copy drills), {n_tokens} tokens, mean {n_tokens / len(rows):.0f}, max {max(lengths)}"
    )

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=2048,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attention_dropout=0.0,
        hidden_act="silu",
        initializer_range=0.02,
    )
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f} M parameters, head size {args.hidden // args.heads}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    batch_iter = batches(lengths, args.batch, random.Random(args.seed))
    if args.drill_steps:
        # short snippets (1-5 words: cheap steps), batches of similar length, in random order
        warm = copy_drills(episodes, args.drill_steps * args.batch, tokenizer, args.seed + 1, max_words=5)
        first = len(rows)
        rows += warm
        by_length = sorted(range(first, len(rows)), key=lambda i: len(rows[i][0]))
        warm_batches = [by_length[i : i + args.batch] for i in range(0, len(by_length), args.batch)]
        random.Random(args.seed + 3).shuffle(warm_batches)
        warm_iter = iter(warm_batches)
    train_started = time.time()
    history = []
    running = 0.0
    model.train()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        idx = next(warm_iter) if step < args.drill_steps else next(batch_iter)
        input_ids, attention, _, weights = collate(
            [rows[i] for i in idx], tokenizer.pad_token_id, args.context_weight
        )
        out = model(input_ids=input_ids, attention_mask=attention)
        loss_t = weighted_loss(out.logits, input_ids, weights)
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss = float(loss_t.detach())
        running = 0.98 * running + 0.02 * loss if step else loss
        if (step + 1) % args.log_every == 0:
            elapsed = time.time() - train_started
            log(
                f"step {step + 1}/{args.steps} loss {running:.4f} lr {lr_at(step):.2e} "
                f"{elapsed / (step + 1):.2f} s/step, eta {elapsed / (step + 1) * (args.steps - step - 1) / 60:.1f} min"
            )
        if (step + 1) % args.val_every == 0 or step + 1 == args.steps:
            metrics = validate(model, val_rows, val_skills, tokenizer.pad_token_id)
            metrics["step"] = step + 1
            history.append(metrics)
            log(f"validation: {json.dumps(metrics)}")
    train_seconds = time.time() - train_started
    total_seconds = time.time() - started

    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("model.safetensors", "pytorch_model.bin", "chat_template.jinja"):
        (out_dir / stale).unlink(missing_ok=True)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(out_dir, safe_serialization=True)
    save_tokenizer(tokenizer, out_dir)
    (out_dir / "chat_template.jinja").unlink(missing_ok=True)
    info = {
        "about": "agentflow's demo model: a small Llama trained from scratch by scripts/demo_model/train.py on "
        "synthetic episodes with the bundled tools (calculator, convert_units, current_time, write_note, "
        "search_notes). A demo, not a general assistant.",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "parameters": n_params,
        "training_tokens_per_epoch": n_tokens,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, {args.threads} threads",
        "validation": history,
    }
    (out_dir / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    # decoding defaults agentflow reads with the model: its answers copy from the conversation everything but
    # its template words (agentflow.decoding.grounded), so a value or a note it reports cannot come out garbled
    profile = {"grounded_answers": True, "answer_words": words}
    (out_dir / "agentflow.json").write_text(json.dumps(profile, indent=2) + "\n")
    write_checksums(out_dir)
    size = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    log(
        f"saved to {out_dir} ({size / 1e6:.1f} MB); training {train_seconds / 60:.1f} min, total {total_seconds / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
