"""Platform routes: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from ..keys import DEPENDENCIES, METRICS, OPENAPI
from .dependencies import OK
from .endpoint import endpoint
from .errors import Unavailable
from .jsonx import dumps, json_response, raw_json_response
from .openapi import build_openapi

routes = web.RouteTableDef()
HEALTHZ_BODY = b'{"status":"ok"}'


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@routes.get("/healthz")
@endpoint(summary="Liveness: 200 while the process runs", tags=("platform",), response=Health)
async def healthz(request: web.Request) -> web.Response:
    return raw_json_response(HEALTHZ_BODY)


@routes.get("/readyz")
@endpoint(
    summary="Readiness: 200 while PostgreSQL answers (`degraded` when Redis does not); without"
    " PostgreSQL 503, a problem naming what is down in `checks`",
    tags=("platform",),
    response=Health,
)
async def readyz(request: web.Request) -> web.Response:
    # Without Redis the shop still sells (catalog, carts, checkout), so it stays in the load
    # balancer; without PostgreSQL it cannot, so it leaves.
    checks = await request.app[DEPENDENCIES].check()
    if checks.get("postgres") != OK:
        raise Unavailable("not ready: PostgreSQL is down", retry_after=5, extra={"checks": checks})
    status = "ok" if all(v == OK for v in checks.values()) else "degraded"
    return json_response({"status": status, "checks": checks})


@routes.get("/metrics")
@endpoint(summary="Prometheus metrics (text format)", tags=("platform",), media_type="text/plain")
async def metrics(request: web.Request) -> web.Response:
    body = await request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/openapi.json")
@endpoint(summary="This API's OpenAPI 3.1 document", tags=("platform",))
async def openapi(request: web.Request) -> web.Response:
    return raw_json_response(request.app[OPENAPI])


async def openapi_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the document once, after every component has added its routes."""
    app[OPENAPI] = dumps(build_openapi(app))
    yield
