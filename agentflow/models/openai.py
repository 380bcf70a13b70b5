"""OpenAI-compatible HTTP backends (plain `httpx`, no SDK).

    openai:MODEL@BASE_URL       any OpenAI-compatible endpoint (`OpenAIModel`)
    vllm-server:URL#MODEL       a vLLM OpenAI-compatible server that decodes under agentflow's grammar
                                (`VLLMServerModel`)

**`openai:`** sends the chat (`render_chat`) with `response_format` = the decision schema as a strict
`json_schema`. The guarantee there is the provider's, so agentflow checks every reply itself (strict JSON, the
decision schema, each tool call's arguments against that tool's own schema and draft, the final answer against
the final schema). An invalid reply becomes a retry: the invalid text is appended as the assistant turn,
followed by a user turn naming the validation error (keyword and path), so the model can fix it. Tokens of
every attempt are counted in `ModelResponse.usage`. After `max_retries` retries (default 2) the step ends
with `InvalidModelOutputError`, naming the last error (it carries the usage of all attempts in `.usage`).
The API key comes from `AGENTFLOW_OPENAI_API_KEY` or `OPENAI_API_KEY`; without one no `Authorization` header
is sent (fine for local servers). `BASE_URL` is the API root (`https://api.openai.com/v1`); a URL with no path
gets `/v1` appended.

**`vllm-server:`** compiles the decision with `agentflow.models.decision_grammar.compile_decision` and sends the grammar as
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

Connection errors, timeouts and HTTP errors raise `ModelHTTPError` (a `ModelError`) naming the URL (and the
status). A reply cut off by the server's context window (`finish_reason="length"` before `max_tokens`) raises
`ContextWindowError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from agentflow.decoding.quotes import provider_schema
from agentflow.exceptions import (
    ContextWindowError,
    GrammarRejectedError,
    InvalidModelOutputError,
    ModelError,
    ModelHTTPError,
    ModelSpecError,
)
from agentflow.messages import Usage
from agentflow.models.base import ModelRequest, ModelResponse
from agentflow.models.decision_schema import decision_from_data, decision_schema
from agentflow.models.output_check import (
    OutputError,
    check_decision_output,
    cut,
    retry_message,
)
from agentflow.models.prompt import render_chat, to_text

__all__ = [
    "API_KEY_ENV_VARS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "OpenAIModel",
    "VLLMServerModel",
    "parse_openai_target",
    "parse_vllm_server_target",
]

API_KEY_ENV_VARS = ("AGENTFLOW_OPENAI_API_KEY", "OPENAI_API_KEY")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = 120.0  # seconds, per HTTP request
DEFAULT_MAX_RETRIES = 2  # retries after an invalid output (so at most 3 attempts)


# ----------------------------------------------------------------------------------------------- spec targets


def _api_root(url: str, what: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ModelSpecError(f"{what}: {url!r} is not an http(s) URL")
    return url if parts.path else url + "/v1"


def parse_openai_target(target: str) -> tuple[str, str]:
    """`MODEL@BASE_URL` -> (model, API root). The split is at the last `@` before `http(s)://`, so model names
    may hold `@`. Without `@URL` the base URL comes from `AGENTFLOW_OPENAI_BASE_URL` / `OPENAI_BASE_URL`, else
    OpenAI's."""
    index = max(target.rfind("@http://"), target.rfind("@https://"))
    if index < 0:
        model, base = (
            target,
            os.environ.get("AGENTFLOW_OPENAI_BASE_URL")
            or os.environ.get("OPENAI_BASE_URL")
            or DEFAULT_BASE_URL,
        )
    else:
        model, base = target[:index], target[index + 1 :]
    if not model.strip():
        raise ModelSpecError(f"openai:{target}: no model name (expected openai:MODEL@BASE_URL)")
    return model.strip(), _api_root(base, f"openai:{target}")


def parse_vllm_server_target(target: str) -> tuple[str, str | None]:
    """`URL#MODEL` -> (API root, model or None for "the first one the server lists")."""
    url, _, model = target.partition("#")
    return _api_root(url, f"vllm-server:{target}"), (model.strip() or None)


def _api_key_from_env() -> str | None:
    for name in API_KEY_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return None


# ------------------------------------------------------------------------------------------------ backends


@dataclass
class _Attempt:
    text: str
    finish_reason: str | None
    input_tokens: int
    output_tokens: int


@dataclass
class _Conversation:
    """The turns of one `decide` call: the request's chat, plus each refused output and its correction."""

    chat: list[dict[str, str]]
    extra: list[dict[str, str]] = field(default_factory=list)

    @property
    def turns(self) -> list[dict[str, str]]:
        return [*self.chat, *self.extra]


class OpenAIModel:
    """`openai:MODEL@BASE_URL`: an OpenAI-compatible chat endpoint; agentflow validates and retries.

    `api_key` defaults to the environment (`AGENTFLOW_OPENAI_API_KEY`, then `OPENAI_API_KEY`); `timeout` is
    per HTTP request (seconds); `max_retries` is how many invalid outputs are answered with a retry;
    `strict` goes into `response_format.json_schema.strict`; `response_format=False` sends none (for endpoints
    without structured outputs: the schema is still in the prompt, and every reply is still validated and
    retried); `headers` are added to every request; `transport` is an `httpx` transport (tests).
    """

    _spec_prefix = "openai"
    _engine_name = ""  # the provider's own: agentflow only validates

    def __init__(
        self,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        strict: bool = True,
        response_format: bool = True,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_retries < 0:
            raise ModelSpecError(f"max_retries must be >= 0, got {max_retries}")
        if timeout <= 0:
            raise ModelSpecError(f"timeout must be > 0 seconds, got {timeout}")
        self._model = model
        self._base_url = _api_root(base_url, "base_url")
        self._api_key = api_key if api_key is not None else _api_key_from_env()
        self._timeout = timeout
        self.max_retries = max_retries
        self._strict = strict
        self._send_response_format = response_format
        self._headers = dict(headers or {})
        self._transport = transport

    @classmethod
    def from_target(cls, target: str, **kwargs: Any) -> OpenAIModel:
        """Build from the part of an `openai:` spec after the colon."""
        model, base = parse_openai_target(target)
        return cls(model, base, **kwargs)

    # ------------------------------------------------------------------------------------------ properties

    @property
    def spec(self) -> str:
        return f"openai:{self._model}@{self._base_url}"

    @property
    def name(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return self._base_url

    # ------------------------------------------------------------------------------------------- deciding

    async def decide(self, request: ModelRequest) -> ModelResponse:
        async with self._client() as client:
            return await self._decide(client, request)

    async def _decide(self, client: httpx.AsyncClient, request: ModelRequest) -> ModelResponse:
        schema = decision_schema(
            request.tools,
            request.final_schema,
            refusal=request.refusal,
            quote_source=request.quote_source,
        )
        constraint = await self._constraint(client, request, schema)
        max_tokens = self._max_tokens(request)
        conversation = _Conversation(render_chat(request))
        errors: list[OutputError] = []
        outputs: list[str] = []
        input_tokens = output_tokens = 0
        for attempt_no in range(self.max_retries + 1):
            attempt = await self._complete(
                client, request, conversation.turns, constraint, max_tokens, attempt_no
            )
            input_tokens += attempt.input_tokens
            output_tokens += attempt.output_tokens
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            if (
                attempt.finish_reason == "length"
                and max_tokens is not None
                and attempt.output_tokens
                and attempt.output_tokens < max_tokens
            ):
                raise ContextWindowError(
                    f"{self.spec}: the reply was cut off after {attempt.output_tokens} tokens, before "
                    f"max_tokens={max_tokens}: the prompt ({attempt.input_tokens} tokens) plus max_tokens does not "
                    "fit the model's context window (for vLLM: raise --max-model-len)"
                )
            check = check_decision_output(
                attempt.text,
                request.tools,
                request.final_schema,
                schema,
                refusal=request.refusal,
                quote_source=request.quote_source,
            )
            if check.ok:
                decision = decision_from_data(check.data, request.step, request.refusal)
                return ModelResponse(
                    decision=decision,
                    usage=usage,
                    raw_text=attempt.text,
                    model_name=self.name,
                    engine=self._engine_name,
                )
            error = check.error
            assert error is not None
            if attempt.finish_reason == "length":
                error = OutputError(
                    f"the reply was cut off at max_tokens={max_tokens} ({error.message})",
                    error.keyword,
                    error.path,
                )
            errors.append(error)
            outputs.append(attempt.text)
            conversation.extra += [
                {"role": "assistant", "content": attempt.text},
                {"role": "user", "content": retry_message(error)},
            ]
        raise self._invalid_error(
            errors, outputs, Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        )

    def _invalid_error(
        self, errors: list[OutputError], outputs: list[str], usage: Usage
    ) -> InvalidModelOutputError:
        last = outputs[-1]
        snippet = last if len(last) <= 200 else last[:120] + " ... " + last[-60:]
        return InvalidModelOutputError(
            f"{self.spec}: no valid decision after {len(errors)} attempts ({len(errors) - 1} retries); last "
            f"error: {errors[-1]}; last output: {snippet!r}",
            errors=errors,
            outputs=outputs,
            usage=usage,
        )

    # -------------------------------------------------------------------------------------- hooks (per kind)

    def _max_tokens(self, request: ModelRequest) -> int | None:
        return request.settings.max_tokens

    async def _constraint(
        self, client: httpx.AsyncClient, request: ModelRequest, schema: dict[str, Any]
    ) -> dict[str, Any]:
        """The body fields that constrain decoding."""
        return {"response_format": self._response_format(schema)} if self._send_response_format else {}

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        # quoted arguments become the enum of their spans when few enough (else agentflow's check catches them)
        return {
            "type": "json_schema",
            "json_schema": {"name": "decision", "schema": provider_schema(schema), "strict": self._strict},
        }

    async def _model_name(self, client: httpx.AsyncClient) -> str:
        return self._model

    def _sampling_fields(self) -> dict[str, Any]:
        return {}

    # ---------------------------------------------------------------------------------------------- HTTP

    def _client(self) -> httpx.AsyncClient:
        headers = {"Content-Type": "application/json", **self._headers}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        kwargs: dict[str, Any] = {"timeout": httpx.Timeout(self._timeout), "headers": headers}
        if self._transport is not None:
            kwargs["transport"] = self._transport
        return httpx.AsyncClient(**kwargs)

    def _body(
        self, model: str, request: ModelRequest, max_tokens: int | None, attempt_no: int
    ) -> dict[str, Any]:
        settings = request.settings
        body: dict[str, Any] = {"model": model, "temperature": settings.temperature, "top_p": settings.top_p}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if settings.seed is not None:
            # a retry gets its own seed, so a deterministic sampler does not repeat the refused output
            body["seed"] = settings.seed + request.step + 1000 * attempt_no
        body.update(self._sampling_fields())
        return body

    async def _complete(
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
        body["messages"] = turns
        body.update(constraint)
        data = await self._post(client, "/chat/completions", body)
        return self._attempt(data, chat=True)

    def _attempt(self, data: Any, *, chat: bool) -> _Attempt:
        url = self._base_url
        try:
            choice = data["choices"][0]
            if chat:
                message = choice["message"]
                if message.get("refusal"):
                    raise ModelError(f"{self.spec}: the model refused: {cut(str(message['refusal']))}")
                text = message.get("content")
            else:
                text = choice.get("text")
            finish = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelHTTPError(
                f"{url} answered with an unexpected body (no choices[0]): {cut(json.dumps(data))}", url=url
            ) from None
        usage = data.get("usage") or {}
        return _Attempt(
            text if isinstance(text, str) else "",
            finish,
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
        )

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
        return await self._request(client, "POST", path, body)

    async def _request(
        self, client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        url = self._base_url + path
        try:
            response = await client.request(method, url, json=body)
        except httpx.TimeoutException as exc:
            raise ModelHTTPError(
                f"{url} did not answer within {self._timeout:g} s ({type(exc).__name__}); "
                "raise the timeout or check the server",
                url=url,
            ) from None
        except httpx.ConnectError as exc:
            raise ModelHTTPError(
                f"cannot connect to {url}: {cut(str(exc)) or 'connection refused'} (is the server running?)",
                url=url,
            ) from None
        except httpx.HTTPError as exc:
            raise ModelHTTPError(
                f"request to {url} failed: {type(exc).__name__}: {cut(str(exc))}", url=url
            ) from None
        if response.status_code >= 400:
            detail = _error_detail(response)
            hint = ""
            if response.status_code in (401, 403):
                hint = f" (API key from {' or '.join(API_KEY_ENV_VARS)}: {'set' if self._api_key else 'not set'})"
            raise ModelHTTPError(
                f"{url} answered HTTP {response.status_code}: {detail}{hint}",
                url=url,
                status=response.status_code,
                body=response.text[:2000],
            )
        try:
            return response.json()
        except ValueError:
            raise ModelHTTPError(
                f"{url} answered HTTP {response.status_code} with a body that is not JSON: "
                f"{cut(response.text)!r}",
                url=url,
                status=response.status_code,
            ) from None


def _error_detail(response: httpx.Response) -> str:
    """The error message of an OpenAI-style error body (`{"error": {"message": ...}}`), else the text."""
    try:
        data = response.json()
    except ValueError:
        return cut(response.text) or response.reason_phrase
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and err.get("message"):
            return cut(str(err["message"]))
        if isinstance(err, str):
            return cut(err)
        if data.get("detail"):
            return cut(str(data["detail"]))
    return cut(response.text)


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
