"""The decision envelope compiled for guaranteed decoding: every backend that decodes under agentflow's grammar
(transformers, vLLM offline, a vLLM server) compiles its decisions here.

    compiled = compile_request(request)                         # the envelope for one request, cached
    compiled = compile_decision(tools)                          # the envelope over `tools`, cached
    check_decision_engine(compiled, tools, None, "xgrammar")    # refuses naming the tool, keyword, pointer

Each tool's schema (and the final-answer schema) is checked on its own first: the envelope is an `anyOf`, and a
tool whose schema cannot be enforced must be refused by name, not silently left out. The one exception is a
tool whose required quoted argument (`agentflow.Quoted`) has nothing to quote in this request (an empty
message): it cannot be called in this decision, so it is left out of it rather than failing the run.

A request's grammar depends on its text only through quoted arguments: requests without them share one compiled
envelope per tool set; with them, each new request text is a new (cached) grammar.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentflow.decoding import CompiledSchema, Limits, compile_cached
from agentflow.decoding.engines import engine_support
from agentflow.decoding.grounded import KEYWORD as GROUNDED, bind_grounded
from agentflow.decoding.quotes import KEYWORD, NOTHING_TO_QUOTE, bind_quotes
from agentflow.exceptions import EngineUnsupportedError, UnsupportedSchemaError
from agentflow.messages import Message, latest_user_text
from agentflow.models.base import ModelRequest
from agentflow.models.decision_schema import DEFAULT_FINAL_SCHEMA, decision_schema

__all__ = ["check_decision_engine", "compile_decision", "compile_request", "conversation_sources"]


def compile_request(
    request: ModelRequest,
    limits: Limits | None = None,
    *,
    grounded: bool = False,
    answer_words: Sequence[str] | None = None,
) -> CompiledSchema:
    """The decision envelope of `request`: its tools (quoted arguments bound to its latest user message), its
    final-answer schema and, when the graph offers one, the refusal. With `grounded` a plain-text answer is
    decoded grounded in the conversation (`decoding.grounded`: its numbers copied from the request, the tool
    results or the calls' arguments; with `answer_words`, its other words too must come from that list); a
    structured final schema is left as it is."""
    final_schema = request.final_schema
    if grounded and final_schema is None:
        final_schema = bind_grounded(
            {**DEFAULT_FINAL_SCHEMA, GROUNDED: "conversation"},
            conversation_sources(request.messages),
            list(answer_words) if answer_words is not None else None,
        )
    return compile_decision(
        request.tools,
        final_schema,
        limits,
        refusal=request.refusal,
        quote_source=request.quote_source,
    )


def conversation_sources(messages: Sequence[Message]) -> list[str]:
    """What a grounded answer may copy from: the latest user message, every tool observation, and the arguments
    of every call the model made (as JSON)."""
    out: list[str] = []
    request = latest_user_text(list(messages))
    if request:
        out.append(request)
    for message in messages:
        if message["role"] == "tool":
            out.append(message["content"])
        for call in message.get("tool_calls") or []:
            out.append(json.dumps(call.get("arguments") or {}, ensure_ascii=False))
    return out


def compile_decision(
    tools: Sequence[Any],
    final_schema: dict[str, Any] | None = None,
    limits: Limits | None = None,
    *,
    refusal: str | None = None,
    quote_source: str | None = None,
    **kwargs: Any,
) -> CompiledSchema:
    """Compile the decision envelope (`agentflow.models.decision_schema.decision_schema`) over `tools`.

    Each tool's schema (and the final-answer schema) is checked on its own first: the envelope is an
    `anyOf`, and a tool whose schema cannot be enforced must be refused by name, not silently left out.
    """
    callable_tools = []
    for tool in tools:
        try:
            compile_cached(bind_quotes(tool.parameters, quote_source), limits)
        except UnsupportedSchemaError as exc:
            if exc.keyword == KEYWORD and NOTHING_TO_QUOTE in exc.reason:
                continue  # nothing in this request to quote: the tool cannot be called now
            raise UnsupportedSchemaError(
                exc.keyword, exc.pointer, f"tool '{tool.name}': {exc.reason}"
            ) from None
        callable_tools.append(tool)
    if final_schema is not None:
        try:
            compile_cached(final_schema, limits)
        except UnsupportedSchemaError as exc:
            raise UnsupportedSchemaError(
                exc.keyword, exc.pointer, f"the final-answer schema: {exc.reason}"
            ) from None
    schema = decision_schema(
        callable_tools, final_schema, refusal=refusal, quote_source=quote_source, **kwargs
    )
    return compile_cached(schema, limits)


def check_decision_engine(
    compiled: CompiledSchema,
    tools: Sequence[Any],
    final_schema: dict[str, Any] | None,
    engine: str,
    limits: Limits | None = None,
    *,
    quote_source: str | None = None,
) -> None:
    """Raise `EngineUnsupportedError` unless mask engine `engine` enforces the compiled decision exactly. When a
    tool's own schema is what the engine cannot express, the error names that tool and the pointer inside it."""
    try:
        engine_support(compiled, engine)
    except EngineUnsupportedError as exc:
        parts = [(f"tool '{t.name}'", bind_quotes(t.parameters, quote_source)) for t in tools]
        if final_schema is not None:
            parts.append(("the final-answer schema", final_schema))
        for where, schema in parts:
            try:
                engine_support(compile_cached(schema, limits), engine)
            except EngineUnsupportedError as own:
                if own.keyword == exc.keyword:
                    raise type(own)(engine, own.keyword, own.pointer, f"{where}: {own.reason}") from None
            except UnsupportedSchemaError:
                continue  # (left out of the decision: nothing to quote)
        raise type(exc)(engine, exc.keyword, exc.pointer, f"the decision envelope: {exc.reason}") from None
