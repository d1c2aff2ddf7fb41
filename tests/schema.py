"""A checker for ``dashboard/payload-schema.json``: the few JSON Schema keywords it uses (type, enum, required,
properties, additionalProperties, items, $ref), enough to hold real payloads to the contract."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "dashboard" / "payload-schema.json").read_text())
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def problems(value, definition: str) -> list[str]:
    """What in ``value`` breaks the schema's definition ``definition`` (``$defs`` name); empty when it holds."""
    return _check(value, SCHEMA["$defs"][definition], definition)


def _is(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def _check(value, schema: dict, path: str) -> list[str]:
    if "$ref" in schema:
        return _check(value, SCHEMA["$defs"][schema["$ref"].split("/")[-1]], path)
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    if "type" in schema and not _is(value, schema["type"]):
        return [f"{path}: expected {schema['type']}, got {type(value).__name__}"]
    out = []
    if isinstance(value, dict):
        out += [f"{path}: {key!r} is missing" for key in schema.get("required", ()) if key not in value]
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                out += _check(item, properties[key], f"{path}.{key}")
            elif extra is False:
                out.append(f"{path}: {key!r} is not in the schema")
            elif isinstance(extra, dict):
                out += _check(item, extra, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += _check(item, schema["items"], f"{path}[{i}]")
    return out
