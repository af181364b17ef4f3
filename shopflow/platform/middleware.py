"""The one platform middleware: request id, overload gate, timeout, errors, headers, metrics.

It is one function rather than a chain because every request passes through it: one frame
and one try block cost less than six.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import redis.exceptions
from aiohttp import web

from . import errors
from .jsonx import PROBLEM_JSON, dumps
from .keys import METRICS, SETTINGS

log = logging.getLogger("shopflow.http")

REQUEST_ID = web.RequestKey("request_id", str)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"
# Failures of a dependency, not of our code: answered 503 so clients retry.
DEPENDENCY_ERRORS = (
    OSError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.QueryCanceledError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
HTTP_ERRORS: dict[int, type[errors.AppError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(exc: errors.AppError, request_id: str) -> web.Response:
    body = exc.problem()
    body["request_id"] = request_id
    return web.Response(body=dumps(body), status=exc.status, headers=exc.headers, content_type=PROBLEM_JSON)


def _request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-ID", "")
    if 0 < len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


class Gate:
    """Bounds the requests in flight; the one past the bound is refused, not queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0


GATE = web.AppKey("gate", Gate)


def _as_problem(exc: BaseException, request: web.Request, rid: str) -> errors.AppError:
    if isinstance(exc, errors.AppError):
        return exc
    if isinstance(exc, web.HTTPException):
        cls = HTTP_ERRORS.get(exc.status, errors.BadRequest)
        return cls(exc.text if cls is errors.BadRequest else None)
    if isinstance(exc, TimeoutError):
        log.warning("request timed out", extra={"request_id": rid, "path": request.path})
        return errors.Unavailable("the request took too long")
    if isinstance(exc, DEPENDENCY_ERRORS):
        log.warning("dependency unavailable: %r", exc, extra={"request_id": rid})
        return errors.Unavailable("a dependency is unavailable", retry_after=5)
    log.error("unhandled error", exc_info=exc, extra={"request_id": rid, "path": request.path})
    return errors.AppError(f"request {rid} failed; it has been logged")


@web.middleware
async def platform_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    app = request.app
    gate = app[GATE]
    rid = _request_id(request)
    request[REQUEST_ID] = rid
    start = time.perf_counter()
    response: web.StreamResponse
    if gate.in_flight >= gate.limit:
        response = problem_response(errors.Unavailable("too many requests in flight"), rid)
    else:
        gate.in_flight += 1
        try:
            async with asyncio.timeout(app[SETTINGS].request_timeout):
                response = await handler(request)
        except (Exception, TimeoutError) as exc:
            response = problem_response(_as_problem(exc, request, rid), rid)
        finally:
            gate.in_flight -= 1
    if not response.prepared:
        headers = response.headers
        headers["X-Request-ID"] = rid
        headers.update(SECURITY_HEADERS)
        if not app[SETTINGS].dev:
            headers["Strict-Transport-Security"] = HSTS
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    app[METRICS].observe(request.method, route, response.status, time.perf_counter() - start)
    return response
