"""Validate request bodies against the Klaviyo OpenAPI operation schemas (shared/vendor-specs/klaviyo).

OpenAPI 3.0 schemas are JSON Schema plus `nullable`; refs are inlined and
`nullable` turned into a null alternative, then jsonschema (Draft 7) checks.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import jsonschema

SPEC_DIRS = [Path("/work/shared/vendor-specs/klaviyo"), Path(__file__).parent / "vendor-specs" / "klaviyo"]


def spec_path() -> Path:
    for base in SPEC_DIRS:
        if (base / "stable.json").exists():
            return base / "stable.json"
    raise FileNotFoundError("Klaviyo OpenAPI spec not found in " + ", ".join(map(str, SPEC_DIRS)))


@cache
def _document() -> dict:
    return json.loads(spec_path().read_text())


def _convert(node, components, depth=0):
    if depth > 40:
        return {}
    if isinstance(node, list):
        return [_convert(x, components, depth + 1) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _convert(components[node["$ref"].split("/")[-1]], components, depth + 1)
    out = {k: _convert(v, components, depth + 1) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        if "type" in out and isinstance(out["type"], str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@cache
def operation_schema(method: str, path: str) -> tuple[str, dict]:
    """(operationId, request body JSON schema) of the operation serving `method path`."""
    document = _document()
    components = document["components"]["schemas"]
    for template, operations in document["paths"].items():
        if _template_regex(template).match(path) and method.lower() in operations:
            operation = operations[method.lower()]
            content = operation["requestBody"]["content"]
            schema = next(iter(content.values()))["schema"]
            return operation["operationId"], _convert(schema, components)
    raise KeyError(f"no operation for {method} {path} in {spec_path()}")


def validate_request(method: str, path: str, body: dict) -> str:
    operation_id, schema = operation_schema(method, path)
    jsonschema.Draft7Validator(schema).validate(body)
    return operation_id


@cache
def response_schema(method: str, path: str, status: int) -> dict:
    document = _document()
    components = document["components"]["schemas"]
    for template, operations in document["paths"].items():
        if _template_regex(template).match(path) and method.lower() in operations:
            content = operations[method.lower()]["responses"][str(status)]["content"]
            return _convert(next(iter(content.values()))["schema"], components)
    raise KeyError(f"no operation for {method} {path}")


def validate_response(method: str, path: str, status: int, body: dict) -> None:
    jsonschema.Draft7Validator(response_schema(method, path, status)).validate(body)
