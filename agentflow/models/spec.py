"""The `--model SPEC` grammar.

    demo                        the small tool-calling model that ships with agentflow (the default)
    scripted:FILE.json          replay decisions from a file (agentflow.testing.ScriptedModel)
    transformers:PATH           in-process transformers, decoding under agentflow's guaranteed grammar
    transformers:PATH?engine=E  ... with the mask engine E (auto, llguidance, xgrammar, outlines_core)
    ...?threads=N               ... torch using N threads (demo and transformers; default: by model size)
    vllm:PATH                   vLLM's offline engine in process, same grammar (needs vLLM installed)
    vllm-server:URL#MODEL       a vLLM OpenAI-compatible server, same grammar (#MODEL optional)
    openai:MODEL@BASE_URL       any OpenAI-compatible endpoint: validated, invalid output retried

Per-role specs (`ROLE=SPEC`) are split off by the CLI before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentflow.exceptions import ModelSpecError
from agentflow.models.base import Model

__all__ = ["BACKENDS", "DEMO", "ModelSpec", "check_model_spec", "load_model", "parse_model_spec"]

BACKENDS = ("scripted", "transformers", "vllm", "vllm-server", "openai")
DEMO = "demo"
DEMO_DIR = Path(__file__).resolve().parent / "demo"
_USAGE = "expected one of: demo, scripted:FILE.json, transformers:PATH, vllm:PATH, vllm-server:URL#MODEL, openai:MODEL@BASE_URL"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    backend: str
    target: str

    def __str__(self) -> str:
        if self.backend == DEMO:
            query = self.target.partition("?")[2]
            return f"{DEMO}?{query}" if query else DEMO
        return f"{self.backend}:{self.target}"


def parse_model_spec(spec: str) -> ModelSpec:
    """Split and check a spec; raise `ModelSpecError` naming what is wrong."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError(f"empty model spec; {_USAGE}")
    if spec.strip() == DEMO:
        return ModelSpec(DEMO, str(DEMO_DIR))
    if spec.strip().startswith(DEMO + "?"):
        _local_options(spec.strip(), spec.strip().partition("?")[2])
        return ModelSpec(DEMO, str(DEMO_DIR) + "?" + spec.strip().partition("?")[2])
    backend, sep, target = spec.strip().partition(":")
    if not sep:
        raise ModelSpecError(f"model spec {spec!r} has no backend prefix; {_USAGE}")
    if backend not in BACKENDS:
        raise ModelSpecError(f"unknown model backend {backend!r} in {spec!r}; {_USAGE}")
    if not target:
        raise ModelSpecError(
            f"model spec {spec!r} names no {'file' if backend == 'scripted' else 'model'}; {_USAGE}"
        )
    if backend == "transformers":
        path, _, query = target.partition("?")
        if not path:
            raise ModelSpecError(f"model spec {spec!r} names no model directory; {_USAGE}")
        _local_options(spec, query)
    return ModelSpec(backend, target)


def _local_options(spec: str, query: str) -> dict[str, str]:
    """The `?engine=E&threads=N&grounded=on|off` options of a demo or transformers spec, checked
    (`ModelSpecError`)."""
    from agentflow.exceptions import ConfigError
    from agentflow.models.transformers import ENGINES, check_threads

    options: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        name, eq, value = part.partition("=")
        if not eq or name not in ("engine", "threads", "grounded"):
            raise ModelSpecError(
                f"{spec}: unknown option {part!r} (expected engine=NAME, threads=N or grounded=on|off)"
            )
        if name == "grounded" and value not in ("on", "off"):
            raise ModelSpecError(f"{spec}: grounded must be on or off (got {value!r})")
        if name == "engine" and value not in ENGINES:
            raise ModelSpecError(
                f"{spec}: unknown mask engine {value!r}; choose one of: {', '.join(ENGINES)}"
            )
        if name == "threads":
            try:
                check_threads(value, "threads")
            except ConfigError as exc:
                raise ModelSpecError(f"{spec}: {exc}") from None
        options[name] = value
    return options


def check_model_spec(spec: str) -> ModelSpec:
    """`parse_model_spec` plus what can be checked without loading anything: a local model's directory and a
    scripted model's file exist (`ModelSpecError` naming the problem)."""
    parsed = parse_model_spec(spec)
    if parsed.backend == "transformers":
        from agentflow.models.transformers import check_model_dir

        check_model_dir(Path(parsed.target.partition("?")[0]).expanduser())
    elif parsed.backend == "scripted" and not Path(parsed.target).expanduser().is_file():
        raise ModelSpecError(f"scripted model file {parsed.target} does not exist")
    elif parsed.backend == "vllm" and "/" in parsed.target and not Path(parsed.target).expanduser().exists():
        raise ModelSpecError(f"model directory {parsed.target} does not exist")
    return parsed


_cache: dict[str, Model] = {}


def load_model(spec: str | Model) -> Model:
    """The model for `spec` (a `Model` passes through). Loaded models are shared within the process."""
    if not isinstance(spec, str):
        return spec
    parsed = parse_model_spec(spec)
    key = str(parsed)
    if key in _cache:
        return _cache[key]
    if parsed.backend == "scripted":
        from agentflow.models.scripted import ScriptedModel

        return ScriptedModel.from_file(Path(parsed.target))  # cheap, and the file may change between runs
    if parsed.backend == DEMO:
        if not (DEMO_DIR / "config.json").exists():
            raise ModelSpecError(f"the bundled demo model is missing from {DEMO_DIR}; reinstall agentflow")
        model: Model = _transformers_model(parsed.target, spec.strip())
    elif parsed.backend == "transformers":
        model = _transformers_model(parsed.target, spec.strip())
    elif parsed.backend == "vllm":
        from agentflow.models.vllm import VLLMModel

        model = VLLMModel(parsed.target)
    elif parsed.backend == "vllm-server":
        from agentflow.models.vllm_server import VLLMServerModel

        model = VLLMServerModel.from_target(parsed.target)
    else:
        from agentflow.models.openai import OpenAIModel

        model = OpenAIModel.from_target(parsed.target)
    _cache[key] = model
    return model


def _transformers_model(target: str, spec: str) -> Model:
    """`PATH`, `PATH?engine=NAME&threads=N&grounded=on|off` (checked by `parse_model_spec`)."""
    from agentflow.models.transformers import TransformersModel

    path, _, query = target.partition("?")
    options = _local_options(spec, query)
    return TransformersModel(
        path,
        spec=spec,
        engine=options.get("engine", "auto"),
        threads=int(options["threads"]) if "threads" in options else None,
        grounded_answers={"on": True, "off": False}.get(options.get("grounded", "")),
    )
