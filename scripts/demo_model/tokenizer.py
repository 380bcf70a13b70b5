"""The demo model's tokenizer: byte-level BPE whose merges never cross a word, digit, space or symbol boundary.

Pre-tokenization isolates every letter run, every single digit, every whitespace character and every other
character; BPE merges are learnt inside letter runs only. So a word is the same tokens wherever it appears
(a unit name in the request and in the JSON argument, a note's text in the request, the observation and the
answer): copying is token-for-token. Numbers are single digits. Byte-level, so any text is encodable (other
languages, "°C", emoji) and llguidance / vLLM treat it like GPT-2's tokenizer.

Special tokens: `<|eos|>` (end of a decision; also pad), `<|user|>`, `<|assistant|>` (turn markers of the chat
template in data.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from data import CHAT_TEMPLATE, EOS, SPECIAL_TOKENS

SPLIT_PATTERN = r"\p{L}+|\p{N}|\s|[^\p{L}\p{N}\s]"


def build_tokenizer(corpus: Iterable[str], vocab_size: int) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS, additional_special_tokens=SPECIAL_TOKENS[1:]
    )
    hf.chat_template = CHAT_TEMPLATE
    return hf


def save_tokenizer(tokenizer: Any, directory: Path) -> None:
    """Write tokenizer.json, tokenizer_config.json (with the chat template) and special_tokens_map.json.

    The config is written by hand in the long-standing format (`PreTrainedTokenizerFast`, `chat_template` inline)
    so transformers 4.x (vLLM's pin) and 5.x both load it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.backend_tokenizer.save(str(directory / "tokenizer.json"))
    added = {}
    for token in SPECIAL_TOKENS:
        added[str(tokenizer.convert_tokens_to_ids(token))] = {
            "content": token,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "bos_token": None,
        "eos_token": EOS,
        "pad_token": EOS,
        "unk_token": None,
        "additional_special_tokens": SPECIAL_TOKENS[1:],
        "clean_up_tokenization_spaces": False,
        "model_max_length": 2048,
        "chat_template": CHAT_TEMPLATE,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    special = {"eos_token": EOS, "pad_token": EOS, "additional_special_tokens": SPECIAL_TOKENS[1:]}
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
