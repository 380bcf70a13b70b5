"""JSON schemas for pydantic models that pydantic itself accepts every instance of.

Pydantic's default schema for `Decimal` allows any string (``anyOf: [number, string]``) although only numeric
strings parse; `model_schema` narrows such types so the schema is no looser than the model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["model_schema"]


class _Narrow(GenerateJsonSchema):
    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        out: dict[str, Any] = {"type": "number"}
        for src, dst in (("gt", "exclusiveMinimum"), ("ge", "minimum"), ("lt", "exclusiveMaximum"),
                         ("le", "maximum"), ("multiple_of", "multipleOf")):
            if schema.get(src) is not None:
                out[dst] = float(schema[src])  # type: ignore[literal-required]
        return out


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model.model_json_schema()` with types pydantic validates more strictly than their default schema
    narrowed (Decimal -> number)."""
    return model.model_json_schema(schema_generator=_Narrow)
