"""`openai:MODEL@BASE_URL` against a real HTTP server on loopback that plays a model replying with given texts
(the model is the fake; HTTP, validation and the retry loop are real). The same path against a real vLLM
server is in tests/vllm/test_vllm_server.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import agentflow
from agentflow.exceptions import InvalidModelOutputError, ModelHTTPError
from agentflow.models.base import ModelRequest, SamplingSettings
from agentflow.models.openai import OpenAIModel
from agentflow.models.spec import load_model
from agentflow.store import RunStore

from helpers import add

pytestmark = pytest.mark.anyio


class FakeProvider:
    """An OpenAI-style /v1/chat/completions endpoint answering with `replies` in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: list[str | tuple[int, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.requests.append(body)
                provider.headers.append(dict(self.headers))
                reply = provider.replies[min(len(provider.requests), len(provider.replies)) - 1]
                if isinstance(reply, tuple):
                    status, payload = reply
                else:
                    status, payload = (
                        200,
                        json.dumps(
                            {
                                "choices": [
                                    {
                                        "message": {"role": "assistant", "content": reply},
                                        "finish_reason": "stop",
                                    }
                                ],
                                "usage": {"prompt_tokens": 100, "completion_tokens": 10},
                            }
                        ),
                    )
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join()


def request() -> ModelRequest:
    return ModelRequest(
        messages=[{"role": "user", "content": "add 2 and 3"}],
        tools=[add.spec],
        settings=SamplingSettings(seed=1),
        step=1,
    )


INVALID_ARGS = json.dumps(
    {"reasoning": "r", "tool_calls": [{"name": "add", "arguments": {"a": "two", "b": 3}}]}
)
VALID = json.dumps({"reasoning": "r", "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]})


async def test_invalid_output_is_retried_with_the_validation_error(provider: FakeProvider) -> None:
    """An output that fails the tool's schema is sent back with the error (keyword and path); the next,
    valid output is the decision; tokens of both attempts are counted; the decision schema was requested."""
    provider.replies = [INVALID_ARGS, VALID]
    model = OpenAIModel.from_target(f"tiny@{provider.url}")
    response = await model.decide(request())
    assert [c.arguments for c in response.decision.tool_calls] == [{"a": 2, "b": 3}]
    assert response.usage.input_tokens == 200 and response.usage.output_tokens == 20
    first, second = provider.requests
    assert first["response_format"]["type"] == "json_schema"
    assert second["messages"][-2] == {"role": "assistant", "content": INVALID_ARGS}
    feedback = second["messages"][-1]["content"]
    assert second["messages"][-1]["role"] == "user" and "'type'" in feedback and "a" in feedback
    assert second["seed"] != first["seed"]


async def test_retries_run_out_with_a_typed_error_and_the_run_counts_them(
    provider: FakeProvider, db_path: Path
) -> None:
    """Never valid: after max_retries retries the step fails with InvalidModelOutputError (its attempts and
    usage attached); through a run, the run fails with that type and its usage includes every attempt."""
    provider.replies = ["this is not json"]
    model = OpenAIModel.from_target(f"tiny@{provider.url}", max_retries=2)
    with pytest.raises(InvalidModelOutputError) as caught:
        await model.decide(request())
    assert caught.value.attempts == 3 and caught.value.usage.input_tokens == 300
    assert len(provider.requests) == 3
    result = await agentflow.run(agentflow.react_graph([add]), "add", model=model, db=db_path)
    assert result.status == "failed" and result.error["type"] == "InvalidModelOutputError"
    assert result.usage["input_tokens"] == 300 and result.usage["output_tokens"] == 30
    assert RunStore(db_path).get_run(result.run_id).status == "failed"


async def test_without_response_format_the_reply_is_still_validated(provider: FakeProvider) -> None:
    """`response_format=False` sends no json_schema (endpoints without structured outputs) but still checks."""
    provider.replies = [INVALID_ARGS, VALID]
    model = OpenAIModel("tiny", provider.url, response_format=False)
    response = await model.decide(request())
    assert response.decision.tool_calls[0].arguments == {"a": 2, "b": 3}
    assert all("response_format" not in r for r in provider.requests)


async def test_http_errors_and_api_keys(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTTP error names the status and the message; the key from the environment is sent as a bearer
    token; a server that is not there is a ModelHTTPError, not a traceback from httpx."""
    provider.replies = [(401, json.dumps({"error": {"message": "bad key"}}))]
    monkeypatch.setenv("AGENTFLOW_OPENAI_API_KEY", "test-key-not-a-secret")
    model = load_model(f"openai:tiny@{provider.url}")
    with pytest.raises(ModelHTTPError, match="HTTP 401: bad key") as caught:
        await model.decide(request())
    assert caught.value.status == 401
    assert provider.headers[0]["Authorization"] == "Bearer test-key-not-a-secret"
    gone = OpenAIModel("tiny", "http://127.0.0.1:9/v1", timeout=5)
    with pytest.raises(ModelHTTPError, match="cannot connect"):
        await gone.decide(request())


async def test_quoted_arguments_go_to_the_provider_as_an_enum_and_are_checked(provider: FakeProvider) -> None:
    """A quoted argument is sent as the enum of the request's spans (no agentflow keys in the schema); a reply
    that misquotes anyway is sent back naming the problem, and the corrected one is the decision."""
    from agentflow.toolkit import DEFAULT_TOOLS

    note = next(t for t in DEFAULT_TOOLS if t.name == "write_note")
    misquote = json.dumps(
        {"reasoning": "r", "tool_calls": [{"name": "write_note", "arguments": {"text": "buy milk!"}}]}
    )
    quote = json.dumps(
        {"reasoning": "r", "tool_calls": [{"name": "write_note", "arguments": {"text": "buy milk"}}]}
    )
    provider.replies = [misquote, quote]
    model = OpenAIModel.from_target(f"tiny@{provider.url}")
    response = await model.decide(
        ModelRequest(
            messages=[{"role": "user", "content": "Write a note: buy milk"}], tools=[note.spec], step=1
        )
    )
    assert response.decision.tool_calls[0].arguments == {"text": "buy milk"}
    sent = json.dumps(provider.requests[0]["response_format"])
    assert "x-agentflow" not in sent and "__quoted_text__" not in sent
    assert '"enum": ["Write", "Write a", ' in sent and '"buy milk"' in sent
    assert "not copied verbatim from the request" in provider.requests[1]["messages"][-1]["content"]


async def test_a_refusal_decision_answers_with_the_fixed_text(provider: FakeProvider) -> None:
    """With a refusal on offer, `{"refuse": true}` is a valid reply and becomes the fixed answer."""
    provider.replies = [json.dumps({"reasoning": "not mine", "refuse": True})]
    model = OpenAIModel.from_target(f"tiny@{provider.url}")
    response = await model.decide(
        ModelRequest(
            messages=[{"role": "user", "content": "hello"}], tools=[add.spec], refusal="I can only add."
        )
    )
    assert response.decision.final_answer == "I can only add."
    branches = provider.requests[0]["response_format"]["json_schema"]["schema"]["anyOf"]
    assert any("refuse" in b["properties"] for b in branches)
