"""The OpenAPI 3.1 document, built from the route table and the endpoints' models."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from .endpoint import ENDPOINT_ATTR, Endpoint

PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
REASONS = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Wrong media type",
    422: "Validation failed",
    429: "Rate limited",
    503: "Overloaded or a dependency is down",
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _endpoints(app: web.Application) -> list[tuple[str, str, Endpoint]]:
    found = []
    for route in app.router.routes():
        spec = getattr(route.handler, ENDPOINT_ATTR, None)
        if spec is None or route.method == "HEAD" or route.resource is None:
            continue
        path = PARAM.sub(r"{\1}", route.resource.canonical)
        found.append((path, route.method.lower(), spec))
    return found


def _operation(path: str, spec: Endpoint, refs: dict[Any, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PARAM.findall(path)
    ]
    if spec.query is not None:
        query_schema = schemas[refs[spec.query, "validation"]["$ref"].rsplit("/", 1)[1]]
        required = set(query_schema.get("required", ()))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in query_schema["properties"].items()
        ]
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": refs[spec.response, "serialization"]}}
    elif spec.status == 204:
        ok["description"] = "No content"
    responses: dict[str, Any] = {str(spec.status): ok}
    codes = set(spec.errors) | {503}
    if spec.body is not None:
        codes |= {400, 413, 415, 422}
    if spec.query is not None:
        codes.add(422)
    if spec.guard is not None:
        codes |= {401, 403}
    for code in sorted(codes):
        responses[str(code)] = _problem(REASONS.get(code, "Error"))
    op: dict[str, Any] = {"summary": spec.summary, "responses": responses}
    if spec.tags:
        op["tags"] = list(spec.tags)
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[spec.body, "validation"]}},
        }
    if spec.guard is not None:
        op["security"] = [{"bearer": []}]
    return op


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of every endpoint `app` serves."""
    endpoints = _endpoints(app)
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
    for _, _, spec in endpoints:
        models.update((m, "validation") for m in (spec.body, spec.query) if m is not None)
        if spec.response is not None:
            models.add((spec.response, "serialization"))
    refs, defs = models_json_schema(
        sorted(models, key=lambda mm: (mm[0].__name__, mm[1])),
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for path, method, spec in endpoints:
        paths.setdefault(path, {})[method] = _operation(path, spec, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ShopFlow API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
