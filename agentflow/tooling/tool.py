"""The `@tool` decorator: a typed function becomes a `Tool` with a pydantic argument model and JSON schema."""

from __future__ import annotations

import inspect
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from agentflow.exceptions import ToolDefinitionError, ToolError
from agentflow.models.base import ToolSpec
from agentflow.tooling.context import RunContext

__all__ = ["Tool", "tool"]

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A callable the model can use. Build one with `@tool`; call it through the tool node (or `execute_call`).

    Hints follow MCP's tool annotations: `read_only` (no side effects), `destructive` (may destroy or overwrite
    data; meaningful only when not read-only), `idempotent` (calling twice with the same arguments has no extra
    effect). Retries: failures whose exception type is in `retry_on` (and `ToolError(retryable=True)`) are
    retried up to `retries` times with exponential backoff; a timeout is retried only for idempotent tools.
    """

    name: str
    description: str
    function: Callable[..., Any]
    args_model: type[BaseModel]
    output_type: Any = Any
    context_param: str | None = None
    read_only: bool = False
    destructive: bool = True
    idempotent: bool = False
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    retries: int = 0
    retry_on: tuple[type[BaseException], ...] = ()
    max_observation_chars: int | None = None
    approval: Any = "never"
    is_async: bool = field(default=False)

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema (2020-12) of the arguments."""
        return _schema_of(self.args_model)

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    @property
    def output_schema(self) -> dict[str, Any] | None:
        if self.output_type is Any:
            return None
        try:
            return TypeAdapter(self.output_type).json_schema()
        except Exception:  # an output type pydantic cannot describe is still a valid tool
            return None

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ToolError):
            return exc.retryable
        return bool(self.retry_on) and isinstance(exc, self.retry_on)


_schema_cache: dict[type[BaseModel], dict[str, Any]] = {}


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    if model not in _schema_cache:
        schema = model.model_json_schema()
        schema.pop("title", None)
        _schema_cache[model] = schema
    return _schema_cache[model]


def _is_optional_context(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return bool(args) and RunContext in args and all(a is RunContext or a is type(None) for a in args)


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    text = inspect.cleandoc(doc)
    return text.split("\n\n", 1)[0].replace("\n", " ").strip()


def _build(
    func: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    read_only: bool,
    destructive: bool | None,
    idempotent: bool | None,
    timeout_s: float | None,
    retries: int,
    retry_on: tuple[type[BaseException], ...],
    max_observation_chars: int | None,
    approval: Any = "never",
) -> Tool:
    if not callable(func):
        raise ToolDefinitionError(f"@tool needs a function, got {type(func).__name__}")
    tool_name = name or getattr(func, "__name__", "")
    if not tool_name.isidentifier():
        raise ToolDefinitionError(f"tool name {tool_name!r} must be an identifier (letters, digits, underscores)")
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': cannot resolve type hints ({exc})") from None
    fields: dict[str, Any] = {}
    context_param = None
    for pname, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(f"tool '{tool_name}': *args / **kwargs are not supported ('{pname}')")
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolDefinitionError(f"tool '{tool_name}': positional-only parameter '{pname}' is not supported")
        annotation = hints.get(pname)
        if annotation is None:
            raise ToolDefinitionError(f"tool '{tool_name}': parameter '{pname}' needs a type annotation")
        if annotation is RunContext or _is_optional_context(annotation):
            context_param = pname
            continue
        fields[pname] = (annotation, ... if param.default is param.empty else param.default)
    try:
        with warnings.catch_warnings():
            # an argument named like a BaseModel attribute (`json`, `schema`, ...) is fine for a tool
            warnings.filterwarnings("ignore", message=".*shadows an attribute", category=UserWarning)
            args_model = create_model(  # type: ignore[call-overload]
                f"{tool_name}_args",
                __config__=ConfigDict(extra="forbid"),
                __doc__=None,
                **fields,
            )
        _schema_of(args_model)
    except ToolDefinitionError:
        raise
    except Exception as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': arguments cannot be described as JSON schema ({exc})") from None
    if read_only:
        destructive, idempotent = False, True if idempotent is None else idempotent
    return Tool(
        name=tool_name,
        description=description or _first_paragraph(func.__doc__) or tool_name,
        function=func,
        args_model=args_model,
        output_type=hints.get("return", Any),
        context_param=context_param,
        read_only=read_only,
        destructive=True if destructive is None else destructive,
        idempotent=False if idempotent is None else idempotent,
        timeout_s=timeout_s,
        retries=retries,
        retry_on=tuple(retry_on),
        max_observation_chars=max_observation_chars,
        approval=approval,
        is_async=inspect.iscoroutinefunction(func),
    )


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    destructive: bool | None = None,
    idempotent: bool | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    retries: int = 0,
    retry_on: tuple[type[BaseException], ...] = (),
    max_observation_chars: int | None = None,
    approval: Any = "never",
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    destructive: bool | None = None,
    idempotent: bool | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    retries: int = 0,
    retry_on: tuple[type[BaseException], ...] = (),
    max_observation_chars: int | None = None,
    approval: Any = "never",
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a sync or async function into a `Tool`.

    The name is the function's, the description the docstring's first paragraph, the arguments a pydantic
    model built from the type hints (`Annotated[int, Field(le=50)]` works). A parameter typed `RunContext` is
    injected at call time and hidden from the model. `read_only=True` implies not destructive and idempotent.
    `approval` ("never", "always", "destructive" or a predicate on the arguments) makes calls wait for a human.
    """
    options = dict(name=name, description=description, read_only=read_only, destructive=destructive,
                   idempotent=idempotent, timeout_s=timeout_s, retries=retries, retry_on=retry_on,
                   max_observation_chars=max_observation_chars, approval=approval)
    if func is not None:
        return _build(func, **options)  # type: ignore[arg-type]
    return lambda f: _build(f, **options)  # type: ignore[arg-type]
