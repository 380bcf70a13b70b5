"""The JSON schema of a tool's arguments, no looser than the pydantic model that validates them.

Constrained decoding produces exactly what the schema allows, so every value the schema admits must also pass
the model's validation. Pydantic's default schema for `Decimal` admits any string (``anyOf: [number,
string]``) although only numeric strings parse; such types are narrowed here (Decimal -> number).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["arguments_schema"]


class _Narrow(GenerateJsonSchema):
    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        out: dict[str, Any] = {"type": "number"}
        for src, dst in (
            ("gt", "exclusiveMinimum"),
            ("ge", "minimum"),
            ("lt", "exclusiveMaximum"),
            ("le", "maximum"),
            ("multiple_of", "multipleOf"),
        ):
            value: Any = schema.get(src)
            if value is not None:
                out[dst] = float(value)
        return out


def arguments_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema (2020-12) without its title, narrowed where pydantic's default is looser than its
    validation."""
    schema = model.model_json_schema(schema_generator=_Narrow)
    schema.pop("title", None)
    return schema
