"""OpenAI-compatible HTTP backends (plain `httpx`, no SDK).

    openai:MODEL@BASE_URL       any OpenAI-compatible endpoint (`OpenAIModel`)
    vllm-server:URL#MODEL       a vLLM server decoding under agentflow's grammar (`models.vllm_server`)

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

**`vllm-server:`** (`agentflow.models.vllm_server`) builds on this class with agentflow's own grammar.

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

import httpx

from agentflow.decoding.quotes import provider_schema
from agentflow.exceptions import (
    ContextWindowError,
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
from agentflow.models.prompt import render_chat

__all__ = [
    "API_KEY_ENV_VARS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "OpenAIModel",
    "parse_openai_target",
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
