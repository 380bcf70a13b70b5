"""A tiny random-weight Llama model with a byte-level BPE tokenizer, built offline for tests.

The model knows nothing (random weights): it is the hardest test of constrained decoding, since only the
grammar keeps its output well formed. Building takes about a second.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EOS_TOKEN", "build_tiny_model"]

EOS_TOKEN = "<|eos|>"

# Training text for the tokenizer: agentflow's prompt format, JSON punctuation, digits and some prose, so
# merges cover what the prompt and the decision schema need.
_CORPUS = [
    "<|system|>\n<|user|>\n<|assistant|>\n",
    'Reply with one JSON object. To use tools: {"reasoning": "...", "tool_calls": [{"name": "...", '
    '"arguments": {...}}]}. To answer: {"reasoning": "...", "final_answer": ...}.',
    '{"reasoning":"add the numbers","tool_calls":[{"name":"calculator","arguments":{"expression":"2+3"}}]}',
    '{"reasoning":"done","final_answer":"The answer is 5."}',
    '{"type":"object","properties":{"expression":{"type":"string","maxLength":20}},'
    '"required":["expression"],"additionalProperties":false}',
    "Observation call_0_0 (calculator): 5",
    "Tools:\n- calculator: Evaluate an arithmetic expression. Arguments:",
    "You are a helpful assistant. What is 12 * 7 + 3? Convert 5 km to miles. true false null",
    "0123456789 + - * / ( ) [ ] { } , : . ; ' \" \\ _ = < > ? ! @ # $ % ^ & | ~ `",
    "the quick brown fox jumps over the lazy dog THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
]


def build_tiny_model(directory: Path, *, seed: int = 0, vocab_size: int = 512) -> Path:
    """Save a random 2-layer Llama (hidden 128, 2 heads of 64) and its tokenizer to `directory`.

    The tokenizer is byte-level BPE (every string is encodable) with `<|eos|>` as eos and pad token and no
    chat template, so agentflow's plain prompt template is used. Returns `directory`.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer)
    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=EOS_TOKEN, pad_token=EOS_TOKEN
    )

    config = LlamaConfig(
        vocab_size=len(hf_tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        eos_token_id=hf_tokenizer.eos_token_id,
        pad_token_id=hf_tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.eval()
    model.save_pretrained(directory)
    hf_tokenizer.save_pretrained(directory)
    return directory
