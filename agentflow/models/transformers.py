"""In-process local models: transformers for the forward pass, a grammar engine for the decision schema.

`TransformersModel("path/to/model")` loads `AutoModelForCausalLM` + `AutoTokenizer` from a local directory (on
first use, or `load()`), and decodes every decision under `decision_schema(tools, final_schema)` with one of
three grammar engines:

- `llguidance` (default): llguidance's JSON-schema grammar, applied by the small logits processor below. It
  handles byte-level tokens, compiles in milliseconds, and is told to allow no whitespace between JSON tokens.
- `outlines_core`: outlines' default JSON backend, with `whitespace_pattern=""`.
- `xgrammar`: outlines' xgrammar backend, compiled with `any_whitespace=False`.

JSON is always compact (`,` and `:` without spaces): the form assistant turns are rendered in, and the form a
random or weak model cannot pad with endless whitespace.

torch, transformers, outlines and the engines are imported only when a model is loaded, so importing this
module (and starting the CLI) stays fast.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from agentflow.exceptions import ConfigError, ModelError, ModelSpecError
from agentflow.messages import Usage
from agentflow.models.base import ModelRequest, ModelResponse
from agentflow.models.decision_schema import decision_schema, parse_decision
from agentflow.models.prompt import render_chat, to_text

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_ENGINE", "ENGINES", "TransformersModel"]

ENGINES = ("guided", "llguidance", "outlines_core", "xgrammar")
DEFAULT_ENGINE = "guided"  # agentflow's own bounded grammar (agentflow.decoding): the guaranteed path
UNGUARDED_MAX_TOKENS = 1024  # the library engines' default when max_tokens is not given

_CACHED_GRAMMARS = 64  # compiled decision schemas kept per model instance (least recently used dropped)
_MODEL_FILES = ("config.json",)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


class _Generation:
    """What one blocking generation produced."""

    __slots__ = ("input_tokens", "output_tokens", "text", "truncated")

    def __init__(self, text: str, input_tokens: int, output_tokens: int, truncated: bool) -> None:
        self.text = text
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.truncated = truncated


class TransformersModel:
    """A local causal LM whose every decision is decoded under the decision schema.

    `path` is a directory holding a transformers checkpoint and its tokenizer (what `save_pretrained` writes).
    `engine` picks the grammar engine (see the module docstring); `device` is a torch device string.
    One instance runs one generation at a time; compiled grammars are cached per schema. Cancelling `decide`
    stops its generation at the next token.
    """

    def __init__(self, path: str | Path, *, engine: str = DEFAULT_ENGINE, device: str = "cpu",
                 spec: str | None = None) -> None:
        if engine not in ENGINES:
            raise ConfigError(f"unknown grammar engine {engine!r}; choose one of: {', '.join(ENGINES)}")
        self._path_arg = str(path)
        self._spec = spec
        self._path = Path(path).expanduser()
        _check_model_dir(self._path)
        self._engine = engine
        self._device = device
        self._lock = anyio.Lock()  # callers queue here, not in worker threads
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()  # a cancelled call's thread may still be finishing its token
        self._hf_model: Any = None
        self._tokenizer: Any = None
        self._outlines_model: Any = None
        self._llg_tokenizer: Any = None
        self._xgr_backend: Any = None
        self._outlines_core_backend: Any = None
        self._eos_ids: list[int] = []
        self._guided: Any = None
        self._processors: OrderedDict[tuple[str, str], Any] = OrderedDict()

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
        return self._engine

    @property
    def device(self) -> str:
        return self._device

    @property
    def loaded(self) -> bool:
        return self._hf_model is not None

    # ---------------------------------------------------------------------------------------------- loading

    def load(self) -> None:
        """Load model and tokenizer now (idempotent, thread-safe). `decide` calls it on first use."""
        with self._load_lock:
            if self._hf_model is not None:
                return
            try:
                import torch  # noqa: F401  (fail here, with the hint below, when the extra is missing)
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
                model.to(self._device)
            except Exception as exc:  # any failure here means the directory (or device) is unusable
                raise ModelSpecError(f"cannot load the {stage} from {self._path}: {_brief(exc)}") from None
            finally:
                if bars_were_on:
                    transformers.utils.logging.enable_progress_bar()
            if tokenizer.eos_token_id is None:
                raise ModelSpecError(f"the tokenizer in {self._path} has no eos token; constrained decoding needs one")
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            model.eval()
            gen_eos = model.generation_config.eos_token_id
            gen_eos = [] if gen_eos is None else [gen_eos] if isinstance(gen_eos, int) else list(gen_eos)
            self._eos_ids = list(dict.fromkeys([tokenizer.eos_token_id, *gen_eos]))
            self._tokenizer = tokenizer
            self._hf_model = model

    # ------------------------------------------------------------------------------------------- decoding

    async def decide(self, request: ModelRequest) -> ModelResponse:
        """Decode one decision for `request` under its decision schema."""
        stop = threading.Event()
        async with self._lock:
            try:
                gen = await anyio.to_thread.run_sync(self._generate, request, stop, abandon_on_cancel=True)
            except anyio.get_cancelled_exc_class():
                stop.set()  # the worker ends at its next token; `_generate_lock` holds off the next call till then
                raise
        usage = Usage(input_tokens=gen.input_tokens, output_tokens=gen.output_tokens)
        max_tokens = request.settings.max_tokens
        try:
            json.loads(gen.text)
        except json.JSONDecodeError as exc:
            snippet = gen.text if len(gen.text) <= 200 else gen.text[:100] + " ... " + gen.text[-80:]
            if gen.truncated:
                raise ModelError(
                    f"model output was cut off at max_tokens={max_tokens} before its JSON decision was complete "
                    f"({gen.output_tokens} tokens generated); raise max_tokens. Output: {snippet!r}"
                ) from None
            raise ModelError(
                f"{self._engine} decoded text that is not valid JSON ({exc.msg}: char {exc.pos}; it stopped "
                f"before max_tokens={max_tokens}): {snippet!r}"
            ) from None
        decision = parse_decision(gen.text, request.step)
        return ModelResponse(decision=decision, usage=usage, raw_text=gen.text, model_name=self.name)

    def _generate(self, request: ModelRequest, stop: threading.Event) -> _Generation:
        """Blocking: load, compile (or reuse) the grammar, render the prompt, sample. Runs in a worker thread."""
        self.load()
        with self._generate_lock:
            return self._generate_locked(request, stop)

    def check_guarantee(self) -> None:
        """Load the model and check its tokenizer keeps the decoding guarantee (`UnsupportedTokenizerError`)."""
        self.load()
        with self._generate_lock:
            self._decoder()

    def _decoder(self) -> Any:
        from agentflow.decoding import GuidedDecoder

        if self._guided is None:
            self._guided = GuidedDecoder(self._hf_model, self._tokenizer)
        return self._guided

    def sample_schema(self, schema: dict[str, Any], *, max_tokens: int | None = None, temperature: float = 1.0,
                      seed: int | None = None) -> str:
        """One instance of `schema` itself (blocking), decoded under agentflow's guaranteed grammar."""
        from agentflow.decoding import compile_cached

        compiled = compile_cached(schema)
        self.load()
        with self._generate_lock:
            sample = self._decoder().sample(compiled, max_tokens=max_tokens or compiled.min_max_tokens,
                                            temperature=temperature, seed=seed)
        return sample.text

    def _generate_guided(self, request: ModelRequest, stop: threading.Event) -> _Generation:
        """The guaranteed path: the decision compiled to agentflow's bounded grammar, sampled in our own loop."""
        from agentflow.decoding import compile_decision

        compiled = compile_decision(request.tools, request.final_schema)  # cached; refuses what it can't enforce
        decoder = self._decoder()
        tokenizer = self._tokenizer
        prompt = to_text(render_chat(request), tokenizer)
        has_template = bool(getattr(tokenizer, "chat_template", None))
        prompt_ids = tokenizer(prompt, add_special_tokens=not has_template)["input_ids"]
        settings = request.settings
        max_tokens = settings.max_tokens if settings.max_tokens is not None else compiled.min_max_tokens
        seed = settings.seed + request.step if settings.seed is not None else None
        sample = decoder.sample(compiled, max_tokens=max_tokens, temperature=settings.temperature,
                                     seed=seed, prompt_ids=prompt_ids, should_stop=stop.is_set)
        return _Generation(text=sample.text, input_tokens=len(prompt_ids), output_tokens=sample.n_tokens,
                           truncated=False)

    def _generate_locked(self, request: ModelRequest, stop: threading.Event) -> _Generation:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        if self._engine == "guided":
            return self._generate_guided(request, stop)
        tokenizer, model = self._tokenizer, self._hf_model
        processor = self._processor(decision_schema(request.tools, request.final_schema))

        prompt = to_text(render_chat(request), tokenizer)
        has_template = bool(getattr(tokenizer, "chat_template", None))
        encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=not has_template)
        input_ids = encoded["input_ids"].to(model.device)
        attention_mask = encoded["attention_mask"].to(model.device)

        settings = request.settings
        sample = settings.temperature > 0
        max_new_tokens = settings.max_tokens if settings.max_tokens is not None else UNGUARDED_MAX_TOKENS
        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=sample,
            temperature=settings.temperature if sample else 1.0,
            top_p=settings.top_p if sample else 1.0,
            top_k=0 if sample else 50,  # agentflow's settings are the whole sampling policy: no hidden top-k
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            num_beams=1,
            min_new_tokens=0,
            eos_token_id=self._eos_ids,
            pad_token_id=tokenizer.pad_token_id,
        )
        if settings.seed is not None:
            torch.manual_seed(settings.seed + request.step)
        processor.reset()
        try:
            with torch.inference_mode():
                output = model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    generation_config=config,
                    logits_processor=LogitsProcessorList([processor]),
                    stopping_criteria=StoppingCriteriaList([_StopOnEvent(stop)]),
                )
        except _GrammarError as exc:
            raise ModelError(f"{self._engine}: {exc}") from None
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ModelError(f"generation with {self.name} failed: {_brief(exc)}") from None

        new_ids = output[0, input_ids.shape[1]:].tolist()
        ended = bool(new_ids) and new_ids[-1] in self._eos_ids
        text = tokenizer.decode(new_ids, skip_special_tokens=True)
        return _Generation(
            text=text,
            input_tokens=int(input_ids.shape[1]),
            output_tokens=len(new_ids),  # every token the model produced, the closing eos included
            truncated=not ended and len(new_ids) >= max_new_tokens,
        )

    # -------------------------------------------------------------------------------------------- engines

    def _processor(self, schema: dict[str, Any]) -> Any:
        """The compiled logits processor for `schema` (cached per engine and schema).

        The cache key sorts keys; the engine gets the schema in its own key order, because engines emit
        properties in schema order (reasoning first).
        """
        key = (self._engine, json.dumps(schema, sort_keys=True))
        processor = self._processors.get(key)
        if processor is None:
            try:
                processor = _COMPILERS[self._engine](self, json.dumps(schema))
            except _GrammarError as exc:
                raise ModelError(f"{self._engine} cannot compile the decision schema: {exc}") from None
            self._processors[key] = processor
            while len(self._processors) > _CACHED_GRAMMARS:
                self._processors.popitem(last=False)
        else:
            self._processors.move_to_end(key)
        return processor

    def _vocab_width(self) -> int:
        """Width of the model's logits (may exceed the tokenizer's vocabulary: padded embeddings)."""
        return int(self._hf_model.get_output_embeddings().weight.shape[0])

    def _compile_llguidance(self, schema_json: str) -> _LLGuidanceProcessor:
        import llguidance
        import llguidance.hf

        if self._llg_tokenizer is None:
            width = max(self._vocab_width(), len(self._tokenizer))
            self._llg_tokenizer = llguidance.hf.from_tokenizer(self._tokenizer, n_vocab=width,
                                                               eos_token=self._eos_ids)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            schema_json,
            defaults={"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"},
        )
        error = llguidance.LLMatcher.validate_grammar(grammar, self._llg_tokenizer)
        if error:
            raise _GrammarError(error)
        return _LLGuidanceProcessor(grammar, self._llg_tokenizer)

    def _outlines(self) -> Any:
        if self._outlines_model is None:
            import outlines

            self._outlines_model = outlines.from_transformers(self._hf_model, self._tokenizer)
        return self._outlines_model

    def _compile_outlines_core(self, schema_json: str) -> Any:
        from outlines.backends.outlines_core import OutlinesCoreBackend

        if self._outlines_core_backend is None:
            self._outlines_core_backend = OutlinesCoreBackend(self._outlines())
        try:
            return self._outlines_core_backend.get_json_schema_logits_processor(schema_json, "")
        except (ValueError, TypeError, RuntimeError) as exc:
            raise _GrammarError(_brief(exc)) from None

    def _compile_xgrammar(self, schema_json: str) -> Any:
        from outlines.backends.xgrammar import XGrammarBackend, XGrammarLogitsProcessor

        if self._xgr_backend is None:
            self._xgr_backend = XGrammarBackend(self._outlines())
        try:
            compiled = self._xgr_backend.grammar_compiler.compile_json_schema(
                schema_json, any_whitespace=False, separators=(",", ":")
            )
        except (ValueError, TypeError, RuntimeError) as exc:
            raise _GrammarError(_brief(exc)) from None
        return XGrammarLogitsProcessor(compiled, "torch")


_COMPILERS = {
    "llguidance": TransformersModel._compile_llguidance,
    "outlines_core": TransformersModel._compile_outlines_core,
    "xgrammar": TransformersModel._compile_xgrammar,
}


class _GrammarError(Exception):
    """A grammar engine rejected a schema or a token (internal; surfaces as `ModelError`)."""


class _LLGuidanceProcessor:
    """A transformers logits processor applying an llguidance grammar (batch size 1).

    outlines' own llguidance processor applies its mask with a `torch.compile`d kernel (seconds of compilation
    and a C compiler on first use); this one unpacks the bitmask with two eager tensor ops.
    """

    def __init__(self, grammar: str, llg_tokenizer: Any) -> None:
        self._grammar = grammar
        self._tokenizer = llg_tokenizer
        self._matcher: Any = None
        self._bitmask: Any = None
        self._shifts: Any = None

    def reset(self) -> None:
        """Start a fresh generation."""
        self._matcher = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import llguidance
        import llguidance.numpy
        import torch

        if input_ids.shape[0] != 1:
            raise _GrammarError("the llguidance processor decodes one sequence at a time")
        if self._matcher is None:
            self._matcher = llguidance.LLMatcher(self._tokenizer, self._grammar)
            if self._bitmask is None:
                self._bitmask = llguidance.numpy.allocate_token_bitmask(1, self._tokenizer.vocab_size)
                self._shifts = torch.arange(32, dtype=torch.int32)
        elif not self._matcher.consume_token(int(input_ids[0, -1])):
            raise _GrammarError(f"grammar rejected token {int(input_ids[0, -1])}: {self._matcher.get_error()}")
        llguidance.numpy.fill_next_token_bitmask(self._matcher, self._bitmask, 0)
        if self._matcher.is_error():
            raise _GrammarError(self._matcher.get_error())
        words = torch.from_numpy(self._bitmask)  # (1, ceil(vocab / 32)) int32, bit i of word w: token 32 w + i
        allowed = ((words.unsqueeze(-1) >> self._shifts) & 1).reshape(1, -1).bool()
        width = scores.shape[-1]
        if allowed.shape[-1] < width:
            allowed = torch.nn.functional.pad(allowed, (0, width - allowed.shape[-1]), value=False)
        return scores.masked_fill(~allowed[:, :width].to(scores.device), float("-inf"))


class _StopOnEvent:
    """A transformers stopping criterion: stop every sequence once `event` is set (the call was cancelled)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        return torch.full((input_ids.shape[0],), self._event.is_set(), dtype=torch.bool, device=input_ids.device)


def _check_model_dir(path: Path) -> None:
    """Raise `ModelSpecError` unless `path` looks like a saved transformers model (cheap, no imports)."""
    if not path.exists():
        raise ModelSpecError(f"model directory {path} does not exist")
    if not path.is_dir():
        raise ModelSpecError(f"{path} is not a directory; a transformers model is a directory with config.json")
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise ModelSpecError(f"{path} is not a transformers model directory (no {', '.join(missing)})")
    if not any(p.name.endswith(_WEIGHT_SUFFIXES) for p in path.iterdir()):
        raise ModelSpecError(f"{path} holds no model weights (*.safetensors or *.bin)")


def _brief(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line (whitespace collapsed, at most `limit` characters), for error messages."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
