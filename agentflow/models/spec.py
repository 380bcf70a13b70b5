"""The `--model SPEC` grammar.

    demo                        the small tool-calling model that ships with agentflow (the default)
    scripted:FILE.json          replay decisions from a file (agentflow.testing.ScriptedModel)
    transformers:PATH           in-process transformers, decoding under agentflow's guaranteed grammar
    transformers:PATH?engine=E  ... with the mask engine E (auto, llguidance, xgrammar, outlines_core)
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

__all__ = ["BACKENDS", "ModelSpec", "load_model", "parse_model_spec"]

BACKENDS = ("scripted", "transformers", "vllm", "vllm-server", "openai")
DEMO = "demo"
DEMO_DIR = Path(__file__).resolve().parent / "demo"
_USAGE = "expected one of: demo, scripted:FILE.json, transformers:PATH, vllm:PATH, vllm-server:URL#MODEL, openai:MODEL@BASE_URL"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    backend: str
    target: str

    def __str__(self) -> str:
        return DEMO if self.backend == DEMO else f"{self.backend}:{self.target}"


def parse_model_spec(spec: str) -> ModelSpec:
    """Split and check a spec; raise `ModelSpecError` naming what is wrong."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError(f"empty model spec; {_USAGE}")
    if spec.strip() == DEMO:
        return ModelSpec(DEMO, str(DEMO_DIR))
    backend, sep, target = spec.strip().partition(":")
    if not sep:
        raise ModelSpecError(f"model spec {spec!r} has no backend prefix; {_USAGE}")
    if backend not in BACKENDS:
        raise ModelSpecError(f"unknown model backend {backend!r} in {spec!r}; {_USAGE}")
    if not target:
        raise ModelSpecError(
            f"model spec {spec!r} names no {'file' if backend == 'scripted' else 'model'}; {_USAGE}"
        )
    return ModelSpec(backend, target)


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
        from agentflow.models.transformers import TransformersModel

        if not (DEMO_DIR / "config.json").exists():
            raise ModelSpecError(f"the bundled demo model is missing from {DEMO_DIR}; reinstall agentflow")
        model: Model = TransformersModel(DEMO_DIR, spec=DEMO)
    elif parsed.backend == "transformers":
        model = _transformers_model(parsed.target)
    elif parsed.backend == "vllm":
        from agentflow.models.vllm import VLLMModel

        model = VLLMModel(parsed.target)
    elif parsed.backend == "vllm-server":
        from agentflow.models.openai import VLLMServerModel

        model = VLLMServerModel.from_target(parsed.target)
    else:
        from agentflow.models.openai import OpenAIModel

        model = OpenAIModel.from_target(parsed.target)
    _cache[key] = model
    return model


def _transformers_model(target: str) -> Model:
    """`PATH` or `PATH?engine=NAME`."""
    from agentflow.models.transformers import TransformersModel

    path, _, query = target.partition("?")
    options: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        name, eq, value = part.partition("=")
        if not eq or name not in ("engine",):
            raise ModelSpecError(f"transformers:{target}: unknown option {part!r} (expected engine=NAME)")
        options[name] = value
    if not path:
        raise ModelSpecError(f"transformers:{target} names no model directory")
    if not options:
        return TransformersModel(path)
    return TransformersModel(path, spec=f"transformers:{target}", engine=options["engine"])
