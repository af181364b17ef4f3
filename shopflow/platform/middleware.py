"""The one platform middleware: request id, overload bound, timeout, errors, headers, metrics.

It is one function rather than a chain because every request passes through it: one frame
and one try block cost less than six.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import redis.exceptions
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from ..keys import TRAFFIC
from . import errors
from .connections import Connection
from .jsonx import problem_response
from .metrics import Metrics
from .ratelimit import AddressLimit

log = logging.getLogger("shopflow.http")

REQUEST_ID = web.RequestKey("request_id", str)
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # never refused for load
# What protects a JSON API; HTML pages add their own CSP, Referrer-Policy and COOP.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
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
# Text PostgreSQL refuses to store (such as U+0000): the client's input, so 422.
UNSTORABLE_TEXT = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
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


class Traffic:
    """Per-process request bookkeeping: ids, the in-flight bound and request deadlines.

    Deadlines are enforced by one sweeper task rather than a timer per request: a request
    past its deadline has its task cancelled, and the middleware answers 503 for it.
    """

    def __init__(
        self, limit: int, timeout: float, max_queue_delay: float, metrics: Metrics, headers: dict[str, str]
    ) -> None:
        self.limit = limit
        self.timeout = timeout
        self.max_queue_delay = max_queue_delay
        self.metrics = metrics
        self.headers = headers  # added to every response
        self.in_flight = 0
        self.shed = metrics.counter("http_requests_shed", "Requests answered 503 unheard", ("reason",)).values
        self._reported = 0
        self.address_limit: AddressLimit | None = None  # on /api/, once Redis is there
        self.deadlines: dict[asyncio.Task[Any], float] = {}
        self.timed_out: set[asyncio.Task[Any]] = set()
        self._prefix = secrets.token_hex(6)
        self._ids = itertools.count()

    def request_id(self, request: web.Request) -> str:
        given = request.headers.get("X-Request-ID")
        if given and len(given) <= 128 and given.isascii() and given.isprintable():
            return given
        return self.new_request_id()

    def new_request_id(self) -> str:
        return f"{self._prefix}{next(self._ids):012x}"  # unique without a syscall per request

    def refuse(self, reason: str, rid: str) -> web.Response:
        """503 for a request not let in (`reason`: in_flight, queued)."""
        self.shed[(reason,)] += 1
        detail = (
            "too many requests in flight"
            if reason == "in_flight"
            else "too busy to start this request in time"
        )
        return problem_response(errors.Unavailable(f"{detail}; retry shortly"), rid)

    async def sweep(self) -> None:
        """Cut off requests past their deadline; say once a second how many were shed."""
        while True:
            await asyncio.sleep(min(1.0, self.timeout / 4))
            now = time.perf_counter()
            for task, deadline in list(self.deadlines.items()):
                if deadline <= now and task not in self.timed_out:
                    self.timed_out.add(task)
                    task.cancel()
            if (shed := sum(self.shed.values())) != self._reported:
                log.warning("requests shed: %d in all, %s", shed, dict(sorted(self.shed.items())))
                self._reported = shed


async def traffic_ctx(app: web.Application) -> AsyncIterator[None]:
    sweeper = asyncio.create_task(app[TRAFFIC].sweep())
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper


def as_problem(exc: BaseException, request: web.Request, rid: str) -> errors.AppError:
    """The platform error an exception is answered as; what is not ours is logged here."""
    if isinstance(exc, errors.AppError):
        return exc
    if isinstance(exc, web.HTTPException):
        cls = HTTP_ERRORS.get(exc.status, errors.BadRequest)
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return cls(exc.text if cls is errors.BadRequest else None, headers=allow)
    if isinstance(exc, UNSTORABLE_TEXT):
        return errors.Invalid("the request has text the database cannot store")
    if isinstance(exc, DEPENDENCY_ERRORS):
        log.warning("dependency unavailable: %r", exc, extra={"request_id": rid})
        return errors.Unavailable("a dependency is unavailable", retry_after=5)
    log.error("unhandled error", exc_info=exc, extra={"request_id": rid, "path": request.path})
    return errors.AppError(f"request {rid} failed; it has been logged")


def response_headers(production: bool) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Strict-Transport-Security": HSTS} if production else dict(SECURITY_HEADERS)


def _queued(request: web.Request, start: float) -> float:
    """Seconds since the request's headers arrived: how long it waited for the event loop."""
    conn = request.protocol
    return start - conn.received_at if isinstance(conn, Connection) and conn.received_at else 0.0


async def _read_body(request: web.Request, rid: str) -> errors.AppError | None:
    """Read the body before the request holds a slot, so that a slow sender holds none (the
    connection's policy closes one that stops sending); what was wrong with it, if anything.
    A multipart body (an upload) is left to its handler to stream."""
    if request.content_type.startswith("multipart/"):
        return None
    try:
        await request.read()
    except web.HTTPException as e:  # larger than client_max_size
        return as_problem(e, request, rid)
    except ConnectionError:
        return errors.RequestTimeout("the request's body stopped arriving")
    except RequestPayloadError as e:
        return errors.BadRequest(f"the request's body is malformed: {e}")
    return None


@web.middleware
async def platform_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    traffic = request.app[TRAFFIC]  # everything this needs, in one lookup
    rid = request[REQUEST_ID] = traffic.request_id(request)
    start = time.perf_counter()
    response: web.StreamResponse
    probe = request.path in PROBES  # answered however busy the process is
    if "\x00" in request.path:  # names nothing, and PostgreSQL text cannot hold it
        response = problem_response(errors.NotFound("no such resource"), rid)
    elif not probe and traffic.in_flight >= traffic.limit:
        response = traffic.refuse("in_flight", rid)
    elif not probe and _queued(request, start) > traffic.max_queue_delay:
        response = traffic.refuse("queued", rid)
    elif (
        traffic.address_limit is not None
        and request.path.startswith("/api/")
        and (refused := traffic.address_limit.admit(request)) is not None
    ):
        response = problem_response(refused, rid)
    elif request.body_exists and (malformed := await _read_body(request, rid)) is not None:
        response = problem_response(malformed, rid)
    else:
        counted = not probe
        traffic.in_flight += counted
        task = request.task
        traffic.deadlines[task] = start + traffic.timeout
        try:
            response = await handler(request)
        except asyncio.CancelledError:
            if task not in traffic.timed_out:
                raise  # the server is shutting down
            task.uncancel()
            log.warning("request timed out", extra={"request_id": rid, "path": request.path})
            response = problem_response(errors.Unavailable("the request took too long"), rid)
        except Exception as exc:  # everything else becomes a problem document
            response = problem_response(as_problem(exc, request, rid), rid)
        finally:
            traffic.in_flight -= counted
            del traffic.deadlines[task]
            traffic.timed_out.discard(task)
    if not response.prepared:
        headers = response.headers
        headers["X-Request-ID"] = rid
        headers.update(traffic.headers)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    traffic.metrics.observe(request.method, route, response.status, time.perf_counter() - start)
    return response
