"""Hand-written schemas that exercise the compiler's corners (bounds, drafts, combinators, formats)."""

from __future__ import annotations

from typing import Any

D4 = "http://json-schema.org/draft-04/schema#"
D7 = "http://json-schema.org/draft-07/schema#"
ALL_FORMATS = [
    "date",
    "time",
    "date-time",
    "email",
    "idn-email",
    "uuid",
    "uri",
    "iri",
    "uri-reference",
    "iri-reference",
    "uri-template",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "duration",
    "json-pointer",
    "relative-json-pointer",
    "regex",
]

SUPPORTED: dict[str, Any] = {
    "number_bounds": {"type": "number", "minimum": -2.5, "exclusiveMaximum": 3.25},
    "number_excl_2020": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "draft4_exclusive": {
        "$schema": D4,
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 10,
        "exclusiveMaximum": True,
    },
    "multiple_fraction": {"type": "number", "multipleOf": 0.1, "minimum": 0, "maximum": 2},
    "multiple_int": {"type": "integer", "multipleOf": 7, "minimum": -20},
    "int64": {"type": "integer", "format": "int64"},
    "nullable_int": {"type": ["integer", "null"], "minimum": 5},
    "formats": {
        "type": "object",
        "properties": {f: {"type": "string", "format": f} for f in ALL_FORMATS},
        "required": ALL_FORMATS,
    },
    "pattern_lengths": {"type": "string", "pattern": "^[a-z]{2,}[0-9]*$", "minLength": 5, "maxLength": 9},
    "pattern_empty": {"type": "string", "pattern": "^$"},
    "pattern_hex": {"type": "string", "pattern": "^[a-f0-9]{64}$"},
    "weird_key": {
        "type": "object",
        "properties": {'we"ird\\key/\u00e9': {"type": "string", "minLength": 3, "maxLength": 5}},
        "required": ['we"ird\\key/\u00e9'],
        "additionalProperties": False,
    },
    "enum_mixed": {"type": ["string", "null"], "enum": ["a", 1, None, {"x": 1}, "\u00fc\n"]},
    "const_object": {"const": {"a": [1, 2, {"b": None}]}},
    "oneof_discriminated": {
        "type": "object",
        "properties": {"shape": {"type": "string"}},
        "oneOf": [
            {"properties": {"shape": {"const": "square"}}, "required": ["side"]},
            {"properties": {"shape": {"const": "rect"}}, "required": ["w", "h"]},
            {"properties": {"shape": {"const": "circle"}}, "required": ["r"]},
        ],
    },
    "oneof_types": {"oneOf": [{}, {"type": "string"}]},
    "oneof_not": {
        "type": "object",
        "properties": {
            "a": {"type": "number"},
            "b": {"type": "number"},
            "c": {"type": "number"},
            "d": {"type": "number"},
        },
        "oneOf": [
            {"not": {"required": ["c", "d"]}, "required": ["a", "b"]},
            {"not": {"required": ["a", "b"]}, "required": ["c", "d"]},
        ],
    },
    "oneof_enum_exclusion": {"type": "string", "oneOf": [{}, {"enum": ["template", "first", "a"]}]},
    "not_enum_short": {"type": "string", "not": {"enum": ["", "x", "\n"]}, "maxLength": 1},
    "not_required_map": {"type": "object", "not": {"required": ["body", "bodyValue"]}},
    "map_min_forbid": {
        "type": "object",
        "additionalProperties": {"type": "boolean"},
        "minProperties": 2,
        "not": {"required": ["ab"]},
    },
    "dependencies": {
        "type": "object",
        "properties": {"card": {"type": "string"}, "billing": {"type": "string"}, "x": {"type": "integer"}},
        "dependencies": {"card": ["billing"], "x": {"required": ["card"]}},
    },
    "unique_enum": {
        "type": "array",
        "items": {"enum": ["a", "b", "c", 1, 1.0]},
        "uniqueItems": True,
        "minItems": 2,
    },
    "unique_strings": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "tree": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "v": {"type": "integer"},
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["v"],
            }
        },
        "$ref": "#/$defs/node",
    },
    "allof_closed": {
        "allOf": [
            {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
            {"properties": {"b": {"type": "integer"}}, "required": ["a"]},
        ]
    },
    "ref_siblings_2020": {"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s", "maxLength": 3},
    "ref_siblings_draft7": {
        "$schema": D7,
        "definitions": {"s": {"type": "string", "maxLength": 2}},
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/s", "maxLength": 100}},
        "required": ["x"],
    },
    "pattern_properties": {
        "type": "object",
        "properties": {"x_a": {}, "y": {}},
        "patternProperties": {"^x_": {"type": "integer"}},
        "required": ["x_a"],
    },
    "min_max_properties": {
        "type": "object",
        "properties": {"a": {}, "b": {}, "c": {}},
        "minProperties": 2,
        "maxProperties": 2,
    },
    "property_names": {
        "type": "object",
        "properties": {"ok": {}, "BAD": {}},
        "propertyNames": {"pattern": "^[a-z]+$"},
        "required": ["ok"],
    },
    "tuple_draft4": {
        "$schema": D4,
        "type": "array",
        "items": [{"type": "integer"}, {"type": "string"}],
        "additionalItems": False,
        "minItems": 1,
    },
    "prefix_items": {"type": "array", "prefixItems": [{"const": "x"}, {"type": "boolean"}], "items": False},
    "anyof_required": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"md5": {"type": "string"}, "sha1": {"type": "string"}},
            "anyOf": [{"required": ["md5"]}, {"required": ["sha1"]}],
        },
    },
    "free_object": {"type": "object"},
    "anything": {},
    "decimal_like": {
        "anyOf": [{"type": "number"}, {"type": "string", "pattern": "^(?!^[-+.]*$)[+-]?0*\\d*\\.?\\d*$"}]
    },
}

#: schema -> (keyword, pointer) of the expected refusal
UNSUPPORTED: dict[str, tuple[Any, str, str]] = {
    "not_unprovable": (
        {"type": "object", "properties": {"x": {"type": "string", "not": {"pattern": "^a"}}}},
        "not",
        "/properties/x/not",
    ),
    "if_then": ({"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}, "if", ""),
    "contains": (
        {"type": "object", "properties": {"a": {"type": "array", "contains": {"type": "integer"}}}},
        "contains",
        "/properties/a",
    ),
    "unknown_format": (
        {"properties": {"d": {"type": "string", "format": "topic"}}},
        "format",
        "/properties/d",
    ),
    "lookahead": ({"properties": {"p": {"type": "string", "pattern": "^(?=x)"}}}, "pattern", "/properties/p"),
    "remote_ref": ({"properties": {"r": {"$ref": "https://example.com/s.json"}}}, "$ref", "/properties/r"),
    "unevaluated": ({"type": "object", "unevaluatedProperties": False}, "unevaluatedProperties", ""),
    "oneof_overlap": (
        {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]},
        "oneOf",
        "/oneOf/0",
    ),
    "unique_min2": (
        {
            "properties": {
                "u": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 2}
            }
        },
        "uniqueItems",
        "/properties/u",
    ),
    "infinite_recursion": (
        {
            "$defs": {
                "n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}, "required": ["next"]}
            },
            "$ref": "#/$defs/n",
        },
        "$ref",
        "/$defs/n/properties/next",
    ),
    "draft3": ({"$schema": "http://json-schema.org/draft-03/schema#", "type": "string"}, "$schema", ""),
}
