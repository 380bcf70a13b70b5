"""`vllm-server:URL#MODEL`: a vLLM OpenAI-compatible server that decodes under agentflow's grammar.

It compiles the decision with `agentflow.models.decision_grammar.compile_decision` and sends the grammar as
`structured_outputs.grammar`, so the guarantee of the in-process backends carries over: `max_tokens` below the
reported minimum is refused with `MaxTokensTooSmallError` before any request, and `max_tokens=None` means that
minimum. The server must use llguidance (the grammar uses llguidance's Lark extensions):

    python -m vllm.entrypoints.openai.api_server --model PATH \\
        --structured-outputs-config '{"backend": "guidance", "disable_any_whitespace": true}'

(`disable_any_whitespace` does not matter for the grammar, which spells compact JSON itself; it keeps the JSON
fallback below compact.) Every reply is still validated: a server that ignores `structured_outputs` (an old
vLLM, another server) is detected, the invalid reply goes through the same retry loop, and the final error
says the grammar was not enforced. A server that rejects the grammar (HTTP 400, e.g. the xgrammar backend)
raises `GrammarRejectedError`, or with `fallback=True` is sent `response_format` json_schema instead (the
provider-guarantee path above). When the served model has no chat template, `/v1/completions` is used with
agentflow's plain prompt template (detected from the server's answer, remembered). `MODEL` may be left out
(`vllm-server:http://host:8000`): the first model `/v1/models` lists is used.

Everything else (HTTP, retries, errors, usage) is `OpenAIModel`'s (`agentflow.models.openai`).
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from agentflow.exceptions import GrammarRejectedError, InvalidModelOutputError, ModelHTTPError, ModelSpecError
from agentflow.messages import Usage
from agentflow.models.base import ModelRequest
from agentflow.models.decision_schema import decision_schema
from agentflow.models.openai import OpenAIModel, _api_root, _Attempt
from agentflow.models.output_check import OutputError
from agentflow.models.prompt import to_text

__all__ = ["VLLMServerModel", "parse_vllm_server_target"]


def parse_vllm_server_target(target: str) -> tuple[str, str | None]:
    """`URL#MODEL` -> (API root, model or None for "the first one the server lists")."""
    url, _, model = target.partition("#")
    return _api_root(url, f"vllm-server:{target}"), (model.strip() or None)


class VLLMServerModel(OpenAIModel):
    """`vllm-server:URL#MODEL`: a vLLM server decoding under agentflow's compiled grammar (see the module
    docstring). `fallback=True` sends `response_format` instead when the server rejects the grammar;
    `endpoint` is `"auto"` (chat, or completions when the model has no chat template), `"chat"` or
    `"completions"`. Other keywords as `OpenAIModel`."""

    _engine_name = "vllm-server:guidance"

    _spec_prefix = "vllm-server"

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        fallback: bool = False,
        endpoint: str = "auto",
        **kwargs: Any,
    ) -> None:
        if endpoint not in ("auto", "chat", "completions"):
            raise ModelSpecError(f"endpoint must be auto, chat or completions, got {endpoint!r}")
        super().__init__(model or "", base_url, **kwargs)
        self._fallback = fallback
        self._endpoint = endpoint
        self._grammar_rejected = False
        self._name_lock = anyio.Lock()

    @classmethod
    def from_target(cls, target: str, **kwargs: Any) -> VLLMServerModel:
        """Build from the part of a `vllm-server:` spec after the colon."""
        url, model = parse_vllm_server_target(target)
        return cls(url, model, **kwargs)

    @property
    def spec(self) -> str:
        return f"vllm-server:{self._base_url}" + (f"#{self._model}" if self._model else "")

    @property
    def name(self) -> str:
        return self._model or self._base_url

    @property
    def guaranteed(self) -> bool:
        """False once the server rejected the grammar and this instance fell back to `response_format`."""
        return not self._grammar_rejected

    def _compiled(self, request: ModelRequest) -> Any:
        from agentflow.models.decision_grammar import compile_request

        return compile_request(request)  # cached; refuses what it can't enforce; quoted arguments bound

    def _max_tokens(self, request: ModelRequest) -> int | None:
        from agentflow.decoding import MaxTokensTooSmallError

        minimum = self._compiled(request).min_max_tokens
        max_tokens = request.settings.max_tokens
        if max_tokens is None:
            return minimum
        if max_tokens < minimum:
            raise MaxTokensTooSmallError(max_tokens, minimum)
        return max_tokens

    async def _constraint(
        self, client: httpx.AsyncClient, request: ModelRequest, schema: dict[str, Any]
    ) -> dict[str, Any]:
        compiled = self._compiled(request)  # raises UnsupportedSchemaError before any request
        if self._grammar_rejected:
            return {"response_format": self._response_format(schema)}
        return {"structured_outputs": {"grammar": compiled.lark}}

    def _sampling_fields(self) -> dict[str, Any]:
        # vLLM extensions: agentflow's settings are the whole sampling policy (no defaults from the model's
        # generation_config.json); -1 disables top-k in old and new vLLM alike
        return {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0, "skip_special_tokens": True}

    async def _model_name(self, client: httpx.AsyncClient) -> str:
        if self._model:
            return self._model
        async with self._name_lock:
            if not self._model:
                data = await self._request(client, "GET", "/models")
                try:
                    self._model = str(data["data"][0]["id"])
                except (KeyError, IndexError, TypeError):
                    raise ModelHTTPError(
                        f"{self._base_url}/models lists no model; name one: "
                        f"vllm-server:{self._base_url}#MODEL",
                        url=self._base_url,
                    ) from None
        return self._model

    async def _complete(
        self,
        client: httpx.AsyncClient,
        request: ModelRequest,
        turns: list[dict[str, str]],
        constraint: dict[str, Any],
        max_tokens: int | None,
        attempt_no: int,
    ) -> _Attempt:
        while True:
            try:
                if self._endpoint == "completions":
                    return await self._complete_text(
                        client, request, turns, constraint, max_tokens, attempt_no
                    )
                return await super()._complete(client, request, turns, constraint, max_tokens, attempt_no)
            except ModelHTTPError as exc:
                if exc.status != 400:
                    raise
                text = exc.body.lower()
                if self._endpoint == "auto" and "chat template" in text:
                    self._endpoint = "completions"  # the model has none: agentflow's plain template
                    continue
                if "structured_outputs" in constraint and "grammar" in text:
                    if not self._fallback:
                        raise GrammarRejectedError(
                            f"{exc} -- the server refused agentflow's grammar; start vLLM with "
                            '--structured-outputs-config \'{"backend": "guidance", "disable_any_whitespace": '
                            "true}' (or pass fallback=True to use response_format with validation and retries)",
                            url=exc.url,
                            status=exc.status,
                            body=exc.body,
                        ) from None
                    self._grammar_rejected = True
                    constraint = {
                        "response_format": self._response_format(
                            decision_schema(
                                request.tools,
                                request.final_schema,
                                refusal=request.refusal,
                                quote_source=request.quote_source,
                            )
                        )
                    }
                    continue
                raise

    async def _complete_text(
        self,
        client: httpx.AsyncClient,
        request: ModelRequest,
        turns: list[dict[str, str]],
        constraint: dict[str, Any],
        max_tokens: int | None,
        attempt_no: int,
    ) -> _Attempt:
        model = await self._model_name(client)
        body = self._body(model, request, max_tokens, attempt_no)
        body["prompt"] = to_text(turns)
        body.update(constraint)
        data = await self._post(client, "/completions", body)
        return self._attempt(data, chat=False)

    def _invalid_error(
        self, errors: list[OutputError], outputs: list[str], usage: Usage
    ) -> InvalidModelOutputError:
        exc = super()._invalid_error(errors, outputs, usage)
        if self._grammar_rejected:
            return exc
        return InvalidModelOutputError(
            f"{exc} -- the server did not enforce agentflow's grammar (a vLLM server with the guidance backend "
            "always returns valid decisions): is it vLLM >= 0.10 started with --structured-outputs-config "
            '\'{"backend": "guidance", "disable_any_whitespace": true}\'?',
            errors=exc.errors,
            outputs=exc.outputs,
            usage=usage,
        )
