"""Validate requests and answers against a vendor's OpenAPI operation (shared/vendor-specs).

One module for every vendor with a published spec: Klaviyo (`klaviyo/stable.json`, JSON:API
bodies), Twilio (`twilio/twilio_api_v2010.json`, form-encoded bodies) and Attentive
(`attentive/attentive.json`). Pick one with `vendor=`; it defaults to Klaviyo, so
`validate_request(method, path, body)` keeps its meaning.

OpenAPI 3.0 schemas are JSON Schema plus `nullable`; refs are inlined and `nullable`
turned into a null alternative, then jsonschema (Draft 7) checks, with the formats the
specs use for identifiers (`phone-number`: E.164, `uri`, `date-time`) checked too. A
form-encoded body (every value a string on the wire) is first read the way the vendor
reads it: integers, numbers and booleans parsed per the schema.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

SPEC_ROOTS = [Path("/work/shared/vendor-specs"), Path(__file__).parent / "vendor-specs"]
SPEC_FILES = {
    "klaviyo": ["klaviyo/stable.json"],
    "twilio": ["twilio/twilio_api_v2010.json", "twilio/twilio_messaging_v1.json"],
    "attentive": ["attentive/attentive.json"],
}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("phone-number")
def _phone(value) -> bool:
    return not isinstance(value, str) or bool(E164.match(value))


@FORMATS.checks("uri")
def _uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme in ("http", "https") and parts.netloc) or value.startswith("/")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def spec_paths(vendor: str = "klaviyo") -> list[Path]:
    for root in SPEC_ROOTS:
        paths = [root / f for f in SPEC_FILES[vendor]]
        if all(p.exists() for p in paths):
            return paths
    raise FileNotFoundError(f"{vendor} OpenAPI spec not found under " + ", ".join(map(str, SPEC_ROOTS)))


def spec_path(vendor: str = "klaviyo") -> Path:
    return spec_paths(vendor)[0]


@cache
def _documents(vendor: str) -> tuple[dict, ...]:
    return tuple(json.loads(p.read_text()) for p in spec_paths(vendor))


def _convert(node, components, depth=0):
    if depth > 40:
        return {}
    if isinstance(node, list):
        return [_convert(x, components, depth + 1) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _convert(_resolve(components, node["$ref"]), components, depth + 1)
    out = {
        k: _convert(v, components, depth + 1)
        for k, v in node.items()
        if k not in ("nullable", "example", "examples", "x-twilio")
    }
    if node.get("nullable"):
        if "type" in out and isinstance(out["type"], str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _resolve(components: dict, ref: str) -> dict:
    *section, name = ref.removeprefix("#/components/").split("/")
    return components.get(section[0] if section else "schemas", {}).get(name, {})


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def _operation(vendor: str, method: str, path: str) -> tuple[dict, dict]:
    for document in _documents(vendor):
        for template, operations in document["paths"].items():
            if _template_regex(template).match(path) and method.lower() in operations:
                return operations[method.lower()], document.get("components", {})
    raise KeyError(f"no operation for {method} {path} in the {vendor} spec")


@cache
def operation_schema(method: str, path: str, vendor: str = "klaviyo") -> tuple[str, str, dict]:
    """(operationId, content type, request body JSON schema) of the operation serving `method path`."""
    operation, components = _operation(vendor, method, path)
    body = operation["requestBody"]
    if "$ref" in body:
        body = _resolve(components, body["$ref"])
    content_type, content = next(iter(body["content"].items()))
    return operation["operationId"], content_type, _convert(content["schema"], components)


def _from_form(value, schema: dict):
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    try:
        if isinstance(value, str) and "integer" in kinds:
            return int(value)
        if isinstance(value, str) and "number" in kinds:
            return float(value)
    except ValueError:
        return value
    if isinstance(value, str) and "boolean" in kinds and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if "array" in kinds and not isinstance(value, list):
        return [value]
    return value


def validate_request(method: str, path: str, body, vendor: str = "klaviyo") -> str:
    """Check a request body (dict; a form as dict or urlencoded text) against its operation. Returns its id."""
    operation_id, content_type, schema = operation_schema(method, path, vendor)
    if content_type == "application/x-www-form-urlencoded":
        if isinstance(body, str | bytes):
            from urllib.parse import parse_qs

            text = body.decode() if isinstance(body, bytes) else body
            body = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        properties = schema.get("properties", {})
        body = {k: _from_form(v, properties.get(k, {})) for k, v in body.items()}
    elif isinstance(body, str | bytes):
        body = json.loads(body)
    jsonschema.Draft7Validator(schema, format_checker=FORMATS).validate(body)
    return operation_id


def validate_parameters(method: str, path: str, params: dict, vendor: str = "klaviyo") -> str:
    """Check query parameters against the operation's declared parameters (unknown names fail)."""
    operation, components = _operation(vendor, method, path)
    declared = {}
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = _resolve(components, parameter["$ref"])
        if parameter.get("in") == "query":
            declared[parameter["name"]] = _convert(parameter.get("schema", {}), components)
    for name, value in params.items():
        if name not in declared:
            raise jsonschema.ValidationError(f"{method} {path}: query parameter {name!r} is not in the spec")
        schema = declared[name]
        if schema.get("format") == "date-time":  # Twilio's DateSent filters take YYYY-MM-DD too
            schema = {k: v for k, v in schema.items() if k != "format"}
        jsonschema.Draft7Validator(schema, format_checker=FORMATS).validate(_from_form(str(value), schema))
    return operation["operationId"]


@cache
def response_schema(method: str, path: str, status: int, vendor: str = "klaviyo") -> dict:
    operation, components = _operation(vendor, method, path)
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = _resolve(components, response["$ref"])
    content = response.get("content")
    if not content:
        return {}
    return _convert(next(iter(content.values()))["schema"], components)


def validate_response(method: str, path: str, status: int, body, vendor: str = "klaviyo") -> None:
    schema = response_schema(method, path, status, vendor)
    if schema:
        jsonschema.Draft7Validator(schema, format_checker=FORMATS).validate(body)
