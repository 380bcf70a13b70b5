"""The `@tool` decorator: a typed function becomes a `Tool` with a pydantic argument model and JSON schema.

`Tool.from_schema` builds a tool from a raw JSON schema instead (MCP tools): the schema is offered to the
model as-is and arguments are validated with a JSON Schema validator, so no keyword is lost on the way.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from agentflow.decoding.quotes import bind_quotes, has_quotes, validator_for_quotes
from agentflow.exceptions import ToolArgumentsError, ToolDefinitionError, ToolError
from agentflow.models.base import ToolSpec
from agentflow.redaction import RESULT, Sensitive
from agentflow.tooling.context import RunContext
from agentflow.tooling.quoted import QUOTE_SOURCE
from agentflow.tooling.schema import arguments_schema

__all__ = ["Tool", "format_validation_error", "tool"]

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A callable the model can use. Build one with `@tool`; call it through the tool node (or `execute_call`).

    Hints follow MCP's tool annotations: `read_only` (no side effects), `destructive` (may destroy or overwrite
    data; meaningful only when not read-only), `idempotent` (calling twice with the same arguments has no extra
    effect). Retries: failures whose exception type is in `retry_on` (and `ToolError(retryable=True)`) are
    retried up to `retries` times with exponential backoff; a timeout is retried only for idempotent tools.

    The arguments are described either by `args_model` (a pydantic model; `@tool` builds one) or by
    `input_schema` (a raw JSON schema, validated as-is; `Tool.from_schema`), never both.
    """

    name: str
    description: str
    function: Callable[..., Any]
    args_model: type[BaseModel] | None = None
    input_schema: Mapping[str, Any] | None = field(default=None, hash=False)
    declared_output_schema: Mapping[str, Any] | None = field(default=None, hash=False)
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
    sensitive: frozenset[str] = frozenset()  # arguments (and "return": the result) never recorded
    is_async: bool = field(default=False)
    _validator: Any = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if (self.args_model is None) == (self.input_schema is None):
            raise ToolDefinitionError(f"tool '{self.name}' needs exactly one of args_model and input_schema")
        object.__setattr__(self, "sensitive", frozenset(self.sensitive))
        known = set(self.parameters.get("properties") or {}) | {RESULT}
        unknown = sorted(set(self.sensitive) - known)
        if unknown:
            raise ToolDefinitionError(
                f"tool '{self.name}': sensitive names no argument {', '.join(map(repr, unknown))} "
                f"(arguments: {', '.join(sorted(known - {RESULT})) or 'none'}; {RESULT!r} is the result)"
            )
        if self.input_schema is not None:
            object.__setattr__(self, "_validator", _schema_validator(self.name, self.input_schema))

    @classmethod
    def from_schema(
        cls,
        *,
        name: str,
        description: str,
        input_schema: Mapping[str, Any],
        function: Callable[..., Any],
        output_schema: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Tool:
        """A tool whose arguments are described by a raw JSON schema (an MCP tool's `inputSchema`).

        `function` is called with the validated arguments as keywords (use `**arguments`); the schema is
        checked once here (a `ToolDefinitionError` names what is wrong). `options` are `Tool`'s other fields
        (`read_only`, `destructive`, `idempotent`, `timeout_s`, ...). Names may use MCP's alphabet
        (letters, digits, `_`, `-`, `.`; at most 128 characters).
        """
        if not _SCHEMA_TOOL_NAME.fullmatch(name or ""):
            raise ToolDefinitionError(f"tool name {name!r} must be 1-128 letters, digits, '_', '-' or '.'")
        if not callable(function):
            raise ToolDefinitionError(
                f"tool '{name}': function must be callable, got {type(function).__name__}"
            )
        if not isinstance(input_schema, Mapping) or input_schema.get("type", "object") != "object":
            raise ToolDefinitionError(
                f"tool '{name}': the input schema must be a JSON object schema of type 'object'"
            )
        return cls(
            name=name,
            description=description or name,
            function=function,
            input_schema=dict(input_schema),
            declared_output_schema=dict(output_schema) if output_schema is not None else None,
            is_async=inspect.iscoroutinefunction(function),
            **options,
        )

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema (2020-12) of the arguments."""
        if self.input_schema is not None:
            return self.input_schema  # type: ignore[return-value]
        assert self.args_model is not None
        return _schema_of(self.args_model)

    def validate_arguments(self, arguments: Any, *, quote_source: str | None = None) -> dict[str, Any]:
        """The keyword arguments for `function` from a call's JSON arguments (the `RunContext` not included).
        Quoted arguments (`agentflow.Quoted`) must be spans of `quote_source` (the request) when it is given.

        Raises `ToolArgumentsError` whose message is the observation the model reads, e.g.
        `invalid arguments for tool 'lookup': argument 'limit': Input should be less than or equal to 50 (got 80)`.
        """
        if self.args_model is not None:
            try:
                args = self.args_model.model_validate(arguments, context={QUOTE_SOURCE: quote_source})
            except ValidationError as exc:
                raise ToolArgumentsError(format_validation_error(self.name, exc)) from None
            return {name: getattr(args, name) for name in type(args).model_fields}
        validator = self._validator
        if quote_source is not None and self.input_schema is not None and has_quotes(self.input_schema):
            base: Any = type(validator)
            cls = validator_for_quotes(base)
            validator = cls(
                bind_quotes(self.input_schema, quote_source), format_checker=validator.format_checker
            )
        problems = _schema_problems(validator, arguments)
        if problems:
            raise ToolArgumentsError(f"invalid arguments for tool '{self.name}': " + "; ".join(problems))
        return dict(arguments)

    def json_arguments(self, arguments: Any) -> dict[str, Any]:
        """The call's arguments after validation, as JSON data (what approval predicates see)."""
        if self.args_model is not None:
            try:
                return self.args_model.model_validate(arguments).model_dump(mode="json")
            except ValidationError as exc:
                raise ToolArgumentsError(format_validation_error(self.name, exc)) from None
        return self.validate_arguments(arguments)

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    @property
    def output_schema(self) -> dict[str, Any] | None:
        if self.declared_output_schema is not None:
            return self.declared_output_schema  # type: ignore[return-value]
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
_SCHEMA_TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_MAX_PROBLEMS = 5


def format_validation_error(tool_name: str, exc: ValidationError) -> str:
    """`tool 'x': argument 'limit': Input should be less than or equal to 50 (got 80)` — one line per problem."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown argument '{loc}'")
        elif err["type"] == "missing":
            problems.append(f"argument '{loc}' is required")
        else:
            got = err.get("input")
            got_text = json.dumps(got, default=str)[:80] if got is not None else "null"
            problems.append(f"argument '{loc}': {err['msg']} (got {got_text})")
    return f"invalid arguments for tool '{tool_name}': " + "; ".join(problems)


def _schema_validator(tool_name: str, schema: Mapping[str, Any]) -> Any:
    """A compiled JSON Schema validator for `schema` (its `$schema` draft, else 2020-12), formats checked."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path)
        raise ToolDefinitionError(
            f"tool '{tool_name}': invalid input schema at {where}: {exc.message}"
        ) from None
    from agentflow.formats import format_checker

    return cls(schema, format_checker=format_checker(cls))


def _schema_problems(validator: Any, arguments: Any) -> list[str]:
    """What is wrong with `arguments`, in the words `format_validation_error` uses (at most 5 problems)."""
    if not isinstance(arguments, Mapping):
        return [f"(arguments): expected a JSON object (got {json.dumps(arguments, default=str)[:80]})"]
    problems: list[str] = []
    for err in sorted(
        validator.iter_errors(dict(arguments)), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        loc = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, Mapping):
            problems += [
                f"argument '{_join(loc, name)}' is required"
                for name in err.validator_value
                if name not in err.instance
            ]
        elif err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
            known = err.schema.get("properties", {}) if isinstance(err.schema, Mapping) else {}
            patterns = err.schema.get("patternProperties", {}) if isinstance(err.schema, Mapping) else {}
            problems += [
                f"unknown argument '{_join(loc, name)}'"
                for name in err.instance
                if name not in known and not any(re.search(p, name) for p in patterns)
            ]
        else:
            problems.append(f"argument '{loc or '(arguments)'}': {err.message[:200]}")
    if len(problems) > _MAX_PROBLEMS:
        problems = [*problems[:_MAX_PROBLEMS], f"... and {len(problems) - _MAX_PROBLEMS} more"]
    return problems


def _join(loc: str, name: str) -> str:
    return f"{loc}.{name}" if loc else name


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    if model not in _schema_cache:
        _schema_cache[model] = arguments_schema(model)
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
    sensitive: Iterable[str] = (),
) -> Tool:
    if not callable(func):
        raise ToolDefinitionError(f"@tool needs a function, got {type(func).__name__}")
    tool_name: str = name or str(getattr(func, "__name__", ""))
    if not tool_name.isidentifier():
        raise ToolDefinitionError(
            f"tool name {tool_name!r} must be an identifier (letters, digits, underscores)"
        )
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': cannot resolve type hints ({exc})") from None
    fields: dict[str, Any] = {}
    context_param = None
    marked = set(sensitive)
    for pname, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(f"tool '{tool_name}': *args / **kwargs are not supported ('{pname}')")
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                f"tool '{tool_name}': positional-only parameter '{pname}' is not supported"
            )
        annotation = hints.get(pname)
        if annotation is None:
            raise ToolDefinitionError(f"tool '{tool_name}': parameter '{pname}' needs a type annotation")
        if annotation is RunContext or _is_optional_context(annotation):
            context_param = pname
            continue
        if _marked_sensitive(annotation):
            marked.add(pname)
        fields[pname] = (annotation, ... if param.default is param.empty else param.default)
    if _marked_sensitive(hints.get("return")):
        marked.add(RESULT)
    try:
        with warnings.catch_warnings():
            # an argument named like a BaseModel attribute (`json`, `schema`, ...) is fine for a tool
            warnings.filterwarnings("ignore", message=".*shadows an attribute", category=UserWarning)
            args_model = create_model(
                f"{tool_name}_args",
                __config__=ConfigDict(extra="forbid"),
                __doc__=None,
                **fields,
            )
        _schema_of(args_model)
    except ToolDefinitionError:
        raise
    except Exception as exc:
        raise ToolDefinitionError(
            f"tool '{tool_name}': arguments cannot be described as JSON schema ({exc})"
        ) from None
    if read_only:
        destructive, idempotent = False, True if idempotent is None else idempotent
    return Tool(
        name=tool_name,
        description=description or _first_paragraph(getattr(func, "__doc__", None)) or tool_name,
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
        sensitive=frozenset(marked),
        is_async=inspect.iscoroutinefunction(func),
    )


def _marked_sensitive(annotation: Any) -> bool:
    """`Annotated[T, Sensitive]` (possibly inside `Optional`)."""
    if annotation is None:
        return False
    if typing.get_origin(annotation) is typing.Annotated:
        return any(isinstance(m, type(Sensitive)) for m in typing.get_args(annotation)[1:])
    return any(_marked_sensitive(a) for a in typing.get_args(annotation) if a is not type(None))


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
    sensitive: Iterable[str] = (),
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
    sensitive: Iterable[str] = (),
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a sync or async function into a `Tool`.

    The name is the function's, the description the docstring's first paragraph, the arguments a pydantic
    model built from the type hints (`Annotated[int, Field(le=50)]` works). A parameter typed `RunContext` is
    injected at call time and hidden from the model. `read_only=True` implies not destructive and idempotent.
    `approval` ("never", "always", "destructive" or a predicate on the arguments) makes calls wait for a human.
    `sensitive` names arguments (and "return", the result) that are never recorded (`agentflow.Sensitive`
    on a parameter or the return type does the same).
    """
    options = dict(
        name=name,
        description=description,
        read_only=read_only,
        destructive=destructive,
        idempotent=idempotent,
        timeout_s=timeout_s,
        retries=retries,
        retry_on=retry_on,
        max_observation_chars=max_observation_chars,
        approval=approval,
        sensitive=tuple(sensitive),
    )
    if func is not None:
        return _build(func, **options)
    return lambda f: _build(f, **options)
