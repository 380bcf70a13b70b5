"""In-process local models: transformers for the forward pass, agentflow's guaranteed grammar for every decision.

`TransformersModel("path/to/model")` loads `AutoModelForCausalLM` + `AutoTokenizer` from a local directory (on
first use, or `load()`) and decodes every decision under `decision_schema(tools, final_schema)` compiled by
`agentflow.decoding` (bounded, refusing what it cannot enforce), in agentflow's own sampling loop
(`decoding.GuidedDecoder`). The token masks come from one of three engines, all enforcing the same language:

- `auto` (default): per compiled decision schema, the supported engine that measures cheapest (compile time +
  mask time on a probe walk); the choice is cached and `last_engine` tells which one decoded.
- `llguidance`, `xgrammar`, `outlines_core`: that engine; a decision it cannot express exactly is refused with
  `EngineUnsupportedError` (an `UnsupportedSchemaError` naming keyword, JSON Pointer and engine).

Threads: torch's intra-op thread count is chosen per model, not left to torch's default (every core, which on a
small or busy machine makes a small model's decisions many times slower as threads wait on each other).
`threads=N` (spec `?threads=N`, or `AGENTFLOW_TORCH_THREADS`) sets it; by default a small model (up to
`SMALL_MODEL_PARAMS` parameters, like the demo model) decodes on one thread and a larger one on every core this
process may use. Decisions on one model run one at a time, on one decoding worker; concurrent runs queue
for it in order instead of fighting over the cores.

Answers grounded in the conversation (`decoding.grounded`: every number of a plain-text answer copied from the
request, a tool result or a call's arguments; llguidance only) are on with `grounded_answers=True`, or when the
model directory's `agentflow.json` says `{"grounded_answers": true}`; with `"answer_words": [...]` there, the
answer's other words must come from that list too (the bundled demo model's profile says both).

Spec: `transformers:PATH`, `transformers:PATH?engine=NAME&threads=N&grounded=on|off`. torch, transformers and
the engines are imported only when a model is loaded, so importing this module (and starting the CLI) stays
fast.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from agentflow.exceptions import ConfigError, ModelSpecError
from agentflow.messages import Usage
from agentflow.models.base import ModelRequest, ModelResponse, ToolSpec
from agentflow.models.decision_schema import parse_decision
from agentflow.models.prompt import render_chat, to_text

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "SMALL_MODEL_PARAMS",
    "TransformersModel",
    "check_model_dir",
    "check_threads",
]

ENGINES = ("auto", "llguidance", "xgrammar", "outlines_core")  # agentflow.decoding.engines, plus "auto"
DEFAULT_ENGINE = "auto"
SMALL_MODEL_PARAMS = 50_000_000  # up to this size a decision is faster on one thread than on several
THREADS_ENV = "AGENTFLOW_TORCH_THREADS"
PROFILE = "agentflow.json"  # a model directory's decoding defaults (optional)

_MODEL_FILES = ("config.json",)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


class TransformersModel:
    """A local causal LM whose every decision is decoded under the guaranteed decision grammar.

    `path` is a directory holding a transformers checkpoint and its tokenizer (what `save_pretrained` writes).
    `engine` picks the mask engine (see the module docstring); `device` is a torch device string; `threads`
    torch's intra-op threads while this model decodes (None: `AGENTFLOW_TORCH_THREADS`, else by model size).
    One instance runs one generation at a time; compiled grammars are cached. Cancelling `decide` stops its
    generation at the next token.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        engine: str = DEFAULT_ENGINE,
        device: str = "cpu",
        threads: int | None = None,
        spec: str | None = None,
        grounded_answers: bool | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise ConfigError(f"unknown mask engine {engine!r}; choose one of: {', '.join(ENGINES)}")
        self._threads_arg = check_threads(threads, "threads") if threads is not None else None
        if self._threads_arg is None and os.environ.get(THREADS_ENV):
            self._threads_arg = check_threads(os.environ[THREADS_ENV], THREADS_ENV)
        self._threads: int | None = None
        self.last_threads: int | None = None  # torch's thread count during the latest decision
        self._path_arg = str(path)
        self._spec = spec
        self._path = Path(path).expanduser()
        check_model_dir(self._path)
        profile = _profile(self._path)
        if grounded_answers is None:
            grounded_answers = bool(profile.get("grounded_answers", False))
        if grounded_answers and engine not in ("auto", "llguidance"):
            raise ModelSpecError(
                f"{spec or path}: grounded answers (on in this model's {PROFILE}) are enforced by llguidance "
                f"only, not {engine}: use engine=llguidance or auto, or turn them off (?grounded=off)"
            )
        self._grounded = grounded_answers
        self._answer_words: list[str] | None = profile.get("answer_words")
        self._engine = engine
        self._device = device
        self._lock = anyio.Lock()  # callers queue here, not in worker threads
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()  # a cancelled call's thread may still be finishing its token
        self._hf_model: Any = None
        self._tokenizer: Any = None
        self._guided: Any = None
        self._last_engine: str | None = None

    # ----------------------------------------------------------------------------------------- properties

    @property
    def spec(self) -> str:
        """The `--model` spec that rebuilds this backend."""
        return self._spec or f"transformers:{self._path_arg}"

    @property
    def name(self) -> str:
        """The model's directory name (recorded as `ModelResponse.model_name`)."""
        return self._path.resolve().name

    @property
    def engine(self) -> str:
        """The mask engine asked for ("auto" or one engine)."""
        return self._engine

    @property
    def last_engine(self) -> str | None:
        """The mask engine that decoded the latest decision (what "auto" chose), None before the first."""
        return self._last_engine

    @property
    def grounded_answers(self) -> bool:
        """Are plain-text answers decoded grounded in the conversation (`decoding.grounded`)?"""
        return self._grounded

    @property
    def device(self) -> str:
        return self._device

    @property
    def threads(self) -> int | None:
        """torch's intra-op threads while this model decodes (known once loaded, unless set explicitly)."""
        return self._threads or self._threads_arg

    @property
    def loaded(self) -> bool:
        return self._hf_model is not None

    @property
    def context_window(self) -> int | None:
        """The model's context length from its config.json (None when it names none); read without loading."""
        import json

        try:
            config = json.loads((self._path / "config.json").read_text())
        except (OSError, ValueError):
            return None
        for node in (config, config.get("text_config") or {}):
            for key in ("max_position_embeddings", "max_sequence_length", "n_positions", "seq_length"):
                value = node.get(key) if isinstance(node, dict) else None
                if isinstance(value, int) and value > 0:
                    return value
        return None

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the model's tokenizer (loads the model on first use)."""
        self.load()
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    # ---------------------------------------------------------------------------------------------- loading

    def load(self) -> None:
        """Load model and tokenizer now (idempotent, thread-safe). `decide` calls it on first use."""
        with self._load_lock:
            if self._hf_model is not None:
                return
            try:
                import torch  # fail here, with the hint below, when the extra is missing
                import transformers
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise ModelSpecError(
                    f"the transformers backend needs the local extra (pip install 'agentflow[local]'): {exc}"
                ) from None
            bars_were_on = transformers.utils.logging.is_progress_bar_enabled()
            transformers.utils.logging.disable_progress_bar()
            stage = "tokenizer"
            try:
                tokenizer = AutoTokenizer.from_pretrained(self._path, local_files_only=True)
                stage = "causal LM"
                model = AutoModelForCausalLM.from_pretrained(self._path, local_files_only=True)
                stage = f"causal LM onto device {self._device!r}"
                torch.nn.Module.to(model, self._device)
            except Exception as exc:  # any failure here means the directory (or device) is unusable
                raise ModelSpecError(f"cannot load the {stage} from {self._path}: {_brief(exc)}") from None
            finally:
                if bars_were_on:
                    transformers.utils.logging.enable_progress_bar()
            if tokenizer.eos_token_id is None:
                raise ModelSpecError(
                    f"the tokenizer in {self._path} has no eos token; constrained decoding needs one"
                )
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            model.eval()
            self._threads = self._threads_arg or _default_threads(model)
            self._tokenizer = tokenizer
            self._hf_model = model

    def _use_threads(self) -> None:
        """Set torch's intra-op threads for this model, in the calling (decoding) thread: torch keeps the
        setting per thread for OpenMP, so it is set where the work runs, before each decision."""
        import torch

        wanted = self._threads or 1
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        self.last_threads = torch.get_num_threads()

    def check_guarantee(self) -> None:
        """Load the model and check its tokenizer keeps the decoding guarantee (`UnsupportedTokenizerError`)."""
        self.load()
        with self._generate_lock:
            self._decoder()

    def _decoder(self) -> Any:
        from agentflow.decoding import GuidedDecoder

        if self._guided is None:
            self._guided = GuidedDecoder(self._hf_model, self._tokenizer, engine=self._engine)
        return self._guided

    # ----------------------------------------------------------------------------------------- binding

    def bind(self, tools: Sequence[ToolSpec], final_schema: dict[str, Any] | None = None) -> str:
        """Check that this model can decode decisions over `tools` (and `final_schema`) with the guarantee, and
        return the mask engine it will use. Raises `UnsupportedSchemaError` (for a forced engine that cannot
        express a schema, `EngineUnsupportedError` naming the tool, keyword, pointer and engine)."""
        compiled = self._compile(tools, final_schema)
        self.load()
        with self._generate_lock:
            return self._decoder().resolve(compiled)

    def engine_report(self, compiled: Any) -> dict[str, Any]:
        """Per engine, None if it supports `compiled`, else its refusal; plus "auto": what auto chose."""
        from agentflow.decoding import UnsupportedSchemaError

        self.load()
        with self._generate_lock:
            decoder = self._decoder()
            report: dict[str, Any] = dict(decoder.support(compiled))
            try:
                report["auto"] = decoder.choice(compiled).engine
            except UnsupportedSchemaError as exc:  # no engine supports it
                report["auto"] = exc
        return report

    def _compile(
        self,
        tools: Sequence[ToolSpec],
        final_schema: dict[str, Any] | None,
        request: ModelRequest | None = None,
    ) -> Any:
        from agentflow.models.decision_grammar import compile_decision, compile_request

        # cached; refuses what no engine can enforce. A request binds quoted arguments and offers its refusal.
        compiled = (
            compile_decision(tools, final_schema)
            if request is None
            else compile_request(request, grounded=self._grounded, answer_words=self._answer_words)
        )
        if self._engine != "auto":
            from agentflow.models.decision_grammar import check_decision_engine

            check_decision_engine(
                compiled,
                tools,
                final_schema,
                self._engine,
                quote_source=request.quote_source if request is not None else None,
            )
        return compiled

    # ------------------------------------------------------------------------------------------- decoding

    async def decide(self, request: ModelRequest) -> ModelResponse:
        """Decode one decision for `request` under its decision schema."""
        stop = threading.Event()
        async with self._lock:
            try:
                sample, input_tokens = await anyio.to_thread.run_sync(
                    self._generate, request, stop, abandon_on_cancel=True
                )
            except anyio.get_cancelled_exc_class():
                stop.set()  # the worker ends at its next token; `_generate_lock` holds off the next call till then
                raise
        usage = Usage(input_tokens=input_tokens, output_tokens=sample.n_tokens)
        decision = parse_decision(sample.text, request.step, request.refusal)
        return ModelResponse(
            decision=decision, usage=usage, raw_text=sample.text, model_name=self.name, engine=sample.engine
        )

    def _generate(self, request: ModelRequest, stop: threading.Event) -> tuple[Any, int]:
        """Blocking: compile (or reuse) the grammar, load, render the prompt, sample. Runs in a worker thread."""
        compiled = self._compile(request.tools, request.final_schema, request)
        self.load()
        with self._generate_lock:
            self._use_threads()
            decoder = self._decoder()
            tokenizer = self._tokenizer
            prompt = to_text(render_chat(request), tokenizer)
            has_template = bool(getattr(tokenizer, "chat_template", None))
            prompt_ids = tokenizer(prompt, add_special_tokens=not has_template)["input_ids"]
            settings = request.settings
            max_tokens = settings.max_tokens if settings.max_tokens is not None else compiled.min_max_tokens
            seed = settings.seed + request.step if settings.seed is not None else None
            sample = decoder.sample(
                compiled,
                max_tokens=max_tokens,
                temperature=settings.temperature,
                seed=seed,
                prompt_ids=prompt_ids,
                should_stop=stop.is_set,
            )
            self._last_engine = sample.engine
        return sample, len(prompt_ids)

    def sample_schema(
        self,
        schema: dict[str, Any],
        *,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> str:
        """One instance of `schema` itself (blocking), decoded under agentflow's guaranteed grammar."""
        from agentflow.decoding import compile_cached

        compiled = compile_cached(schema)
        self.load()
        with self._generate_lock:
            self._use_threads()
            sample = self._decoder().sample(
                compiled, max_tokens=max_tokens or compiled.min_max_tokens, temperature=temperature, seed=seed
            )
            self._last_engine = sample.engine
        return sample.text


def check_threads(value: object, what: str) -> int:
    """`value` as a thread count (a whole number >= 1), else `ConfigError` naming `what`."""
    try:
        count = int(str(value))
    except ValueError:
        count = 0
    if count < 1:
        raise ConfigError(f"{what} must be a whole number >= 1 (got {value!r})")
    return count


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _default_threads(model: Any) -> int:
    """One thread for a small model (its matrices are too small to split profitably); else every usable core."""
    params = sum(p.numel() for p in model.parameters())
    return 1 if params <= SMALL_MODEL_PARAMS else _usable_cores()


def _profile(path: Path) -> dict[str, Any]:
    """The model directory's decoding defaults (`agentflow.json`, optional), e.g. `{"grounded_answers": true}`."""
    file = path / PROFILE
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelSpecError(f"{file} is not valid JSON: {exc}") from None
    words = data.get("answer_words") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or set(data) - {"grounded_answers", "answer_words"}
        or not isinstance(data.get("grounded_answers", False), bool)
        or (words is not None and not (isinstance(words, list) and all(isinstance(w, str) for w in words)))
    ):
        raise ModelSpecError(
            f"{file}: expected an object with 'grounded_answers' (true or false) and optionally "
            "'answer_words' (a list of words)"
        )
    return data


def check_model_dir(path: Path) -> None:
    """Raise `ModelSpecError` unless `path` looks like a saved transformers model (cheap, no imports)."""
    if not path.exists():
        raise ModelSpecError(f"model directory {path} does not exist")
    if not path.is_dir():
        raise ModelSpecError(
            f"{path} is not a directory; a transformers model is a directory with config.json"
        )
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise ModelSpecError(f"{path} is not a transformers model directory (no {', '.join(missing)})")
    if not any(p.name.endswith(_WEIGHT_SUFFIXES) for p in path.iterdir()):
        raise ModelSpecError(f"{path} holds no model weights (*.safetensors or *.bin)")


def _brief(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line (whitespace collapsed, at most `limit` characters), for error messages."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
