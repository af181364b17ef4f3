"""The OpenAPI 3.1 document, built from the route table and the endpoints' models.

What every endpoint shares is derived here rather than declared per route, so it cannot be
forgotten: a path parameter that names nothing is 404; every request may meet 503 and,
under /api/, the per-address limit's 429; a JSON body may be malformed (400), too large
(413), of another media type (415) or invalid (422); a query string may be invalid (422);
the guard says who may call (401, 403) and whether guests may; an Idempotency-Key may be
in use (409) or reused with another body (422); and request text may not hold NUL.
"""

from __future__ import annotations

import copy
import re
from http import HTTPStatus
from typing import Any, NamedTuple

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from ..keys import SETTINGS
from .endpoint import ENDPOINT_ATTR, GUARD_ATTR, Endpoint, GuardSpec
from .idempotency import HEADER as IDEMPOTENCY_KEY

PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
# Text in a request may not hold U+0000 (PostgreSQL cannot store it): refused with 422.
NO_NUL = r"^[^\x00]*$"
# Any JSON value whose strings and keys hold no NUL.
JSON_NO_NUL: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ]
}
# 1-255 printable ASCII characters; HTTP drops spaces around a header value, so none there.
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[!-~]([ -~]*[!-~])?$",
}
GUARDLESS = GuardSpec(optional=False, statuses=(401, 403), unsafe_statuses=())
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
    416: "Range not satisfiable",
    422: "Validation failed",
    429: "Rate limited",
    503: "Overloaded or a dependency is down",
}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# 429 and 503 say when to come back.
RETRY_AFTER = {
    "Retry-After": {
        "required": True,
        "description": "seconds",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


class Operation(NamedTuple):
    path: str
    method: str
    name: str  # the handler's, unique: the operationId
    spec: Endpoint


def endpoints(app: web.Application) -> list[Operation]:
    """Every documented route."""
    found = []
    for route in app.router.routes():
        spec = getattr(route.handler, ENDPOINT_ATTR, None)
        if spec is None or route.method == "HEAD" or route.resource is None:
            continue
        path = PARAM.sub(r"{\1}", route.resource.canonical)
        found.append(Operation(path, route.method.lower(), route.handler.__name__, spec))
    return found


def _links(source: Operation, found: list[Operation]) -> dict[str, Any]:
    """Links from what `source` makes to the operations that declare they take it in their
    path (`path=`), with what else it makes that their query takes (a guest order's secret):
    what they answer for it is theirs to say."""
    links = {}
    made = {name: f"$response.body#{pointer}" for name, pointer in source.spec.makes.items()}
    for target in found:
        params = {name: made[name] for name in target.spec.path if name in made}
        if params and target is not source:
            query = target.spec.query.model_fields if target.spec.query is not None else {}
            params |= {f"query.{name}": made[name] for name in query if name in made}
            links[target.name] = {"operationId": target.name, "parameters": params}
    return links


def _no_nul(schema: Any, schemas: dict[str, Any], seen: set[str]) -> None:
    """Say in a request schema (in place) that its text holds no NUL."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul(item, schemas, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _no_nul(schemas[name], schemas, seen)
        return
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = NO_NUL  # patterns of their own exclude NUL (a test checks them)
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": NO_NUL})  # a map: its keys are text too
    for key in ("properties", "$defs"):
        for sub in (schema.get(key) or {}).values():
            _no_nul(sub, schemas, seen)
    for key in ("items", "additionalProperties", "anyOf", "allOf", "oneOf"):
        _no_nul(schema.get(key), schemas, seen)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: absent is how it is left out, so never null."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) < len(branches):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}
    if schema.get("default", 0) is None:
        schema = {k: v for k, v in schema.items() if k != "default"}
    return schema


def _parameters(path: str, spec: Endpoint, refs: dict[Any, Any], schemas: dict[str, Any]) -> list[Any]:
    params: list[dict[str, Any]] = []
    for name in PARAM.findall(path):
        kind = spec.path.get(name)
        schema = TypeAdapter(kind).json_schema() if kind is not None else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if spec.query is not None:
        query_schema = schemas[refs[spec.query, "validation"]["$ref"].rsplit("/", 1)[1]]
        required = set(query_schema.get("required", ()))
        for name, prop in query_schema["properties"].items():
            schema = _not_null(prop)
            _no_nul(schema, schemas, set())
            params.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    if spec.idempotent:
        params.append(
            {
                "name": IDEMPOTENCY_KEY,
                "in": "header",
                "required": False,
                "description": "The first response to a key is replayed to a retry with the same body"
                " for 24 hours; another body with the key is 422; while the first runs, 409",
                "schema": IDEMPOTENCY_KEY_SCHEMA,
            }
        )
    for name, description in spec.headers.items():
        params.append(
            {
                "name": name,
                "in": "header",
                "required": False,
                "description": description,
                "schema": {"type": "string"},
            }
        )
    return params


def _success(spec: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": HTTPStatus(spec.status).phrase}
    if spec.status == 204:
        return answer
    if 300 <= spec.status < 400:
        return {**answer, "headers": {"Location": {"required": True, "schema": {"type": "string"}}}}
    if spec.response is not None:
        schema = refs[spec.response, "serialization"]
    else:
        schema = {"type": "object"} if spec.media_type == "application/json" else {"type": "string"}
    return {**answer, "content": {spec.media_type: {"schema": schema}}}


def _answers(spec: Endpoint) -> dict[str, Any]:
    """The other statuses answered with a body of a media type, or none."""
    answers: dict[str, Any] = {}
    for code, media_type in spec.answers.items():
        answers[str(code)] = {"description": HTTPStatus(code).phrase}
        if media_type is not None:
            answers[str(code)]["content"] = {media_type: {"schema": {"type": "string"}}}
    return answers


def _refusals(path: str, method: str, spec: Endpoint) -> set[int]:
    """The statuses of the problem documents this operation may answer."""
    codes = set(spec.errors) | {503}
    if path.startswith("/api/"):
        codes.add(429)  # the per-address limit
    if PARAM.search(path):
        codes.add(404)  # a path parameter that names nothing
    if spec.body is not None:
        codes |= {400, 413, 415, 422}
    if spec.raw_body is not None:
        codes.add(413)
    if spec.query is not None:
        codes.add(422)
    if spec.idempotent:
        codes |= {409, 422}
    if spec.guard is not None:
        guard: GuardSpec = getattr(spec.guard, GUARD_ATTR, GUARDLESS)
        codes.update(guard.statuses)
        if method in UNSAFE_METHODS:
            codes.update(guard.unsafe_statuses)
    return codes


def _operation(
    operation: Operation, found: list[Operation], refs: dict[Any, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    path, method, name, spec = operation
    responses: dict[str, Any] = {str(spec.status): _success(spec, refs)}
    if links := _links(operation, found):
        responses[str(spec.status)]["links"] = links
    responses.update(_answers(spec))
    refusals = _refusals(path, method, spec)
    for code in sorted(refusals | spec.responses.keys()):
        content: dict[str, Any] = {}
        if code in spec.responses:
            content["application/json"] = {"schema": refs[spec.responses[code], "serialization"]}
        if code in refusals:
            content.update(PROBLEM)
        responses[str(code)] = {"description": REASONS.get(code, "Error"), "content": content}
        if code in (429, 503):
            responses[str(code)]["headers"] = RETRY_AFTER
    op: dict[str, Any] = {"operationId": name, "summary": spec.summary, "responses": responses}
    if spec.tags:
        op["tags"] = list(spec.tags)
    if params := _parameters(path, spec, refs, schemas):
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[spec.body, "validation"]}},
        }
    elif spec.raw_body is not None:
        schema = copy.deepcopy(dict(spec.raw_schema))
        _no_nul(schema, schemas, set())
        op["requestBody"] = {"required": True, "content": {spec.raw_body: {"schema": schema}}}
    if spec.guard is not None:
        optional = getattr(spec.guard, GUARD_ATTR, GUARDLESS).optional
        op["security"] = [{}, {"bearer": []}] if optional else [{"bearer": []}]
    return op


def _shop_currency(schemas: dict[str, Any], currency: str) -> None:
    """Prices are in the shop's currency: the only code `Money` takes here."""
    money = schemas.get("Money")
    if money is not None:
        money["properties"]["currency"]["enum"] = [currency]


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of every endpoint `app` serves."""
    found = endpoints(app)
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
    for *_, spec in found:
        models.update((m, "validation") for m in (spec.body, spec.query) if m is not None)
        models.update(
            (m, "serialization") for m in (spec.response, *spec.responses.values()) if m is not None
        )
    refs, defs = models_json_schema(
        sorted(models, key=lambda mm: (mm[0].__name__, mm[1])),
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    if "JsonValue" in schemas:
        schemas["JsonValue"] = JSON_NO_NUL
    seen: set[str] = set()
    for *_, spec in found:
        if spec.body is not None:
            _no_nul(refs[spec.body, "validation"], schemas, seen)
    _shop_currency(schemas, app[SETTINGS].currency)
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for operation in found:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, found, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ShopFlow API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
