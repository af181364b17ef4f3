"""Platform routes: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from ..keys import DB, METRICS, OPENAPI, REDIS
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


async def _check(coro: object) -> str:
    try:
        await asyncio.wait_for(coro, timeout=1.0)  # type: ignore[arg-type]
    except Exception as e:
        return f"down: {type(e).__name__}"
    return "ok"


@routes.get("/readyz")
@endpoint(
    summary="Readiness: 200 when PostgreSQL and Redis answer, else 503 with what is down in `checks`",
    tags=("platform",),
    response=Health,
)
async def readyz(request: web.Request) -> web.Response:
    db_check, redis_check = await asyncio.gather(
        _check(request.app[DB].fetchval("SELECT 1")), _check(request.app[REDIS].ping())
    )
    checks = {"postgres": db_check, "redis": redis_check}
    if any(v != "ok" for v in checks.values()):
        raise Unavailable("not ready: a dependency is down", retry_after=5, extra={"checks": checks})
    return json_response({"status": "ok", "checks": checks})


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
