"""HTML error pages for browsers, outside /api/ (which keeps problem+json), and the headers
every HTML answer carries (CSP with no 'unsafe-inline', Referrer-Policy, COOP)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..platform.errors import AppError
from ..platform.middleware import REQUEST_ID, Handler, as_problem
from ..platform.settings import Settings
from .assets import accepts_gzip
from .render import cookie_theme, page_headers, render

API_PREFIX = "/api/"
MESSAGES = {
    404: "We could not find that page.",
    405: "That page cannot be reached this way.",
    503: "The shop is busy for a moment. Please try again shortly.",
}


def wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


async def error_page(request: web.Request, problem: AppError) -> web.Response:
    """The problem as a page; it reads no database, so that it shows when the database is down."""
    status = problem.status
    if status >= 500:
        message = MESSAGES.get(status, f"Something went wrong on our side (request {request[REQUEST_ID]}).")
    else:
        message = MESSAGES.get(status, problem.detail)
    response = await render(
        request,
        "error.html",
        {"status": status, "title": problem.title, "message": message},
        status=status,
        theme=cookie_theme(request),
        look_up=status < 500,  # who is signed in, unless what failed may be what says so
    )
    response.headers.update(problem.headers)
    return response


def pages_middleware(settings: Settings) -> Middleware:
    """Inside the platform's middleware: what it would answer with problem+json, a browser
    asking for a page gets as an HTML page with the same status."""
    headers = page_headers(settings)

    @web.middleware
    async def pages(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(API_PREFIX):
            return await handler(request)
        try:
            response = await handler(request)
        except Exception as exc:
            if not wants_html(request):
                raise
            response = await error_page(request, as_problem(exc, request, request[REQUEST_ID]))
        if response.content_type == "text/html" and not response.prepared:
            for name, value in headers.items():  # a page may say otherwise (no-store for the private ones)
                response.headers.setdefault(name, value)
            compress(request, response)
        return response

    return pages


def compress(request: web.Request, response: web.StreamResponse) -> None:
    """A page goes gzipped to a browser that accepts it (aiohttp compresses a body of more
    than 4 KiB on a thread, off the event loop), and says it varies on Accept-Encoding."""
    vary = response.headers.get("Vary", "")
    if "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    if "Content-Encoding" in response.headers or not isinstance(response, web.Response):
        return  # compressed already (guests' kept pages), or streamed
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        response.enable_compression(web.ContentCoding.gzip)
