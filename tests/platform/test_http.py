"""The platform middleware: request ids, problem+json, validation, overload, metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from openapi_spec_validator import validate

from shopflow.app import create_app
from shopflow.keys import DB
from shopflow.platform.endpoint import Body, endpoint


async def test_healthz_carries_request_id_and_security_headers(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    generated = {(await client.get("/healthz")).headers["X-Request-ID"] for _ in range(3)}
    assert len(generated) == 3 and all(len(r) == 24 for r in generated)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"

    resp = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"


async def test_readyz_checks_postgres_and_redis(client: Any) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_readyz_is_503_when_postgres_is_unreachable(make_client: Any, make_settings: Any) -> None:
    app = create_app(make_settings())
    client = await make_client(app)
    await app[DB].pool.close()
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert resp.headers["Retry-After"]
    assert (await resp.json())["checks"]["postgres"].startswith("down")


async def test_unknown_route_is_problem_json(client: Any) -> None:
    resp = await client.get("/nowhere", headers={"X-Request-ID": "r1"})
    assert resp.status == 404
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"
    assert body["request_id"] == "r1"
    assert {"type", "title", "detail"} <= body.keys()


async def test_wrong_method_is_405_problem(client: Any) -> None:
    resp = await client.delete("/healthz")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET,HEAD"
    assert (await resp.json())["code"] == "method_not_allowed"


async def test_metrics_use_route_templates(client: Any) -> None:
    await client.get("/api/v1/products/no-such-product")
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    assert 'http_requests_total{method="GET",route="/api/v1/products/{product}",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"' in text
    assert "http_requests_in_flight" in text
    assert "db_pool_size" in text and "db_pool_in_use" in text


JSON = {"Content-Type": "application/json"}


class Echo(Body):
    name: str
    count: int


def _extra_routes(app: web.Application, **handlers: Any) -> None:
    for path, handler in handlers.items():
        app.router.add_route("*", f"/test/{path}", handler)


@endpoint(summary="echo", body=Echo)
async def echo(request: web.Request, body: Echo) -> web.Response:
    return web.json_response(body.model_dump())


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


async def test_body_validation(make_client: Any, settings: Any) -> None:
    app = create_app(settings)
    _extra_routes(app, echo=echo)
    client = await make_client(app)
    ok = await client.post("/test/echo", json={"name": "a", "count": 2})
    assert ok.status == 200

    malformed = await client.post(
        "/test/echo", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status == 400
    assert (await malformed.json())["code"] == "malformed_json"

    wrong_type = await client.post(
        "/test/echo", data=b"name=a", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert wrong_type.status == 415

    invalid = await client.post("/test/echo", json={"name": "a", "count": "2", "role": "admin"})
    assert invalid.status == 422
    body = await invalid.json()
    assert body["code"] == "validation_failed"
    assert {e["field"] for e in body["errors"]} == {"count", "role"}

    for bad in (b"null", b"[]", b'"x"', b"3"):
        resp = await client.post("/test/echo", data=bad, headers={"Content-Type": "application/json"})
        assert resp.status == 422, bad
    empty = await client.post("/test/echo", data=b"", headers={"Content-Type": "application/json"})
    assert empty.status == 400


async def test_a_json_integer_may_have_a_zero_fraction(make_client: Any, settings: Any) -> None:
    app = create_app(settings)
    _extra_routes(app, echo=echo)
    client = await make_client(app)
    ok = await client.post("/test/echo", data=b'{"name": "a", "count": 2.0}', headers=JSON)
    assert ok.status == 200 and (await ok.json())["count"] == 2
    for bad in (b"2.5", b"true", b'"2"'):
        resp = await client.post("/test/echo", data=b'{"name": "a", "count": %s}' % bad, headers=JSON)
        assert resp.status == 422, bad


async def test_nul_characters_are_refused_before_they_reach_the_database(
    client: Any, staff: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/products?q=a%00b")).status == 422
    assert (await client.get("/api/v1/products/%00")).status == 404
    assert (await client.put("/api/v1/inventory/A%00", json={"on_hand": 1}, headers=staff)).status == 404
    for body in ('{"name": "a\\u0000b"}', '{"name": "ok", "attributes": {"k\\u0000": 1}}'):
        resp = await client.post(
            "/api/v1/products", data=body, headers={**staff, "Content-Type": "application/json"}
        )
        assert resp.status == 422, body
    escaped = '{"name": "a\\\\u0000b"}'  # a backslash, then the text u0000: fine
    resp = await client.post(
        "/api/v1/products", data=escaped, headers={**staff, "Content-Type": "application/json"}
    )
    assert resp.status == 201


async def test_body_too_large_is_413(make_client: Any, make_settings: Any) -> None:
    app = create_app(make_settings(max_body_bytes=2048))
    _extra_routes(app, echo=echo)
    client = await make_client(app)
    resp = await client.post("/test/echo", json={"name": "x" * 5000, "count": 1})
    assert resp.status == 413
    assert (await resp.json())["code"] == "payload_too_large"


async def test_unhandled_error_is_500_with_only_the_request_id(
    make_client: Any, settings: Any, caplog: Any
) -> None:
    app = create_app(settings)
    _extra_routes(app, boom=boom)
    client = await make_client(app)
    resp = await client.get("/test/boom", headers={"X-Request-ID": "req-500"})
    assert resp.status == 500
    body = await resp.json()
    assert body["request_id"] == "req-500"
    assert "secret" not in await resp.text()
    logged = [r for r in caplog.records if r.name == "shopflow.http"]
    assert logged and logged[0].exc_info and logged[0].request_id == "req-500"


async def test_saturated_process_answers_503(make_client: Any, make_settings: Any) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(text="done")

    app = create_app(make_settings(max_concurrent_requests=1))
    _extra_routes(app, slow=slow)
    client = await make_client(app)
    first = asyncio.ensure_future(client.get("/test/slow"))
    await entered.wait()
    refused = await client.get("/openapi.json")
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "1"
    for probe in ("/healthz", "/readyz", "/metrics"):  # never refused: they say how the process is
        assert (await client.get(probe)).status == 200
    release.set()
    assert (await first).status == 200
    assert (await client.get("/openapi.json")).status == 200


async def test_no_db_connection_in_time_is_503(make_client: Any, make_settings: Any) -> None:
    app = create_app(make_settings(db_pool_min=1, db_pool_max=1, db_acquire_timeout=0.2))
    client = await make_client(app)
    async with app[DB].connection():  # the only connection is taken
        resp = await client.get("/api/v1/products")
    assert resp.status == 503
    assert resp.headers["Retry-After"]
    assert (await client.get("/api/v1/products")).status == 200


async def test_slow_request_times_out_with_503(make_client: Any, make_settings: Any) -> None:
    async def stuck(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    app = create_app(make_settings(request_timeout=0.2))
    _extra_routes(app, stuck=stuck)
    client = await make_client(app)
    resp = await client.get("/test/stuck")
    assert resp.status == 503


async def test_openapi_is_valid_and_covers_every_route(client: Any, app: web.Application) -> None:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    validate(doc)
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    served = {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        # the storefront's pages are HTML for browsers, not operations of the API
        and not route.handler.__module__.startswith("shopflow.web.")
    }
    assert served == documented
    create = doc["paths"]["/api/v1/products"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert "422" in create["responses"]
    params = {p["name"] for p in doc["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "min_price", "max_price", "in_stock", "sort", "limit", "cursor"} <= params


async def test_staff_endpoints_need_the_token(client: Any, staff: dict[str, str]) -> None:
    body = {"name": "Mug"}
    assert (await client.post("/api/v1/products", json=body)).status == 401
    wrong = await client.post("/api/v1/products", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert (await client.post("/api/v1/products", json=body, headers=staff)).status == 201
