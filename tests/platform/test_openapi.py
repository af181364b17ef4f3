"""What /openapi.json derives from the code, checked where the derivation could slip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import find, settings
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import from_regex


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _strings(doc: dict[str, Any], schema: Any, where: str, seen: set[int]) -> Iterator[tuple[str, Any]]:
    """Every string schema (and map key) in a request schema, with where it is."""
    if not isinstance(schema, dict):
        return
    schema = _resolve(doc, schema)
    if id(schema) in seen:
        return
    seen.add(id(schema))
    kinds = schema.get("type")
    if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
        yield where, schema
    if isinstance(schema.get("additionalProperties"), dict):
        yield f"{where} keys", schema.get("propertyNames", {})
    for name, sub in (schema.get("properties") or {}).items():
        yield from _strings(doc, sub, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        yield from _strings(doc, schema.get(key), f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            yield from _strings(doc, sub, where, seen)


def _request_strings(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                # A NUL in a path names nothing (404); HTTP cannot carry one in a header.
                if param["in"] == "query":
                    yield from _strings(doc, param["schema"], f"{where} {param['name']}", set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                yield from _strings(doc, media["schema"], f"{where} body", set())


async def test_the_document_says_request_text_holds_no_nul(client: Any) -> None:
    doc = await (await client.get("/openapi.json")).json()
    strings = list(_request_strings(doc))
    assert len(strings) > 50
    for where, schema in strings:
        assert {"pattern", "format", "enum", "const"} & schema.keys(), where
    for pattern in {schema["pattern"] for _, schema in strings if "pattern" in schema}:
        with pytest.raises(NoSuchExample):  # a pattern of its own must exclude NUL too
            find(
                from_regex(pattern, fullmatch=True),
                lambda text: "\x00" in text,
                settings=settings(max_examples=200, database=None),
            )


async def test_what_every_operation_shares_is_derived(client: Any) -> None:
    doc = await (await client.get("/openapi.json")).json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where, codes = f"{method.upper()} {path}", set(op["responses"])
            assert "503" in codes, where
            assert op["responses"]["503"]["headers"]["Retry-After"]["required"], where
            assert ("429" in codes) == path.startswith("/api/"), where
            assert ("{" not in path) or "404" in codes, where
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "$ref" in body.get("schema", {}):  # a JSON body the endpoint parses
                assert {"400", "413", "415", "422"} <= codes, where
            if any(p["in"] == "query" for p in op.get("parameters", [])):
                assert "422" in codes, where
            if op.get("security"):
                assert "401" in codes, where


async def test_guards_idempotency_path_types_and_media_types(client: Any) -> None:
    doc = await (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    cart = paths["/api/v1/carts/{cart}"]["get"]
    assert cart["security"] == [{}, {"bearer": []}]  # guests too; a bad token is still 401
    assert "401" in cart["responses"] and "403" not in cart["responses"]
    assert cart["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert "403" in paths["/api/v1/carts/{cart}/items"]["post"]["responses"]  # CSRF, for browsers
    assert paths["/api/v1/orders"]["get"]["security"] == [{"bearer": []}]
    assert {"401", "403"} <= set(paths["/api/v1/orders"]["get"]["responses"])

    checkout = paths["/api/v1/carts/{cart}/checkout"]["post"]
    key = next(p for p in checkout["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and not key["required"] and key["schema"]["maxLength"] == 255
    assert {"409", "422"} <= set(checkout["responses"])
    assert "Idempotency-Key" not in {p["name"] for p in paths["/api/v1/carts"]["post"].get("parameters", [])}
    links = checkout["responses"]["201"]["links"]
    assert links["get_order"] == {  # a guest order opens with its secret
        "operationId": "get_order",
        "parameters": {"order": "$response.body#/order/id", "query.token": "$response.body#/order_token"},
    }

    assert paths["/api/v1/products/{product}"]["get"]["parameters"][0]["schema"] == {"type": "string"}
    assert paths["/api/v1/products/{product}"]["patch"]["parameters"][0]["schema"]["format"] == "uuid"
    sku = paths["/api/v1/inventory/{sku}"]["put"]["parameters"][0]["schema"]
    assert sku["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    provider = paths["/api/v1/auth/oauth/{provider}/start"]["get"]["parameters"][0]["schema"]
    assert provider["enum"] == ["google", "facebook"]

    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert "content" not in paths["/api/v1/auth/logout"]["post"]["responses"]["204"]
    assert "Location" in paths["/api/v1/auth/oauth/{provider}/start"]["get"]["responses"]["302"]["headers"]
    unready = paths["/readyz"]["get"]["responses"]["503"]["content"]
    assert set(unready) == {"application/problem+json"}  # the problem names what is down in `checks`
    assert doc["components"]["schemas"]["Money"]["properties"]["currency"]["enum"] == ["USD"]
    update = doc["components"]["schemas"]["ProductUpdate"]
    assert update["minProperties"] == 1
    assert update["properties"]["name"]["type"] == "string"  # absent, or a name; never null
    assert {"type": "null"} in update["properties"]["category_id"]["anyOf"]  # null: no category
