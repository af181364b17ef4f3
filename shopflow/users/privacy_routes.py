"""The HTTP routes of data export and account erasure."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime

from aiohttp import web

from ..auth.interface import PRINCIPAL, require_user, set_browser_cookies
from ..keys import AUTH, CHECKOUT, DB, SETTINGS, TRAFFIC
from ..platform.endpoint import endpoint
from ..platform.jsonx import JSON
from ..platform.middleware import REQUEST_ID
from . import privacy
from .models import EraseAccount, Export

routes = web.RouteTableDef()
TAGS = ("users",)
FLUSH_AT = 64 * 1024  # bytes gathered before a write: a few batches of orders, or the whole of a small export


@routes.get("/api/v1/me/export")
@endpoint(
    summary="Everything the shop holds about the caller, as one JSON document (streamed, as an attachment)",
    tags=TAGS,
    response=Export,
    guard=require_user,
    errors=(404,),
)
async def export(request: web.Request) -> web.StreamResponse:
    app = request.app
    subject = privacy.Subject(request[PRINCIPAL].user_id, app[DB], app[CHECKOUT], app[SETTINGS].currency)
    day = datetime.now(UTC).date().isoformat()
    # Sent from here, so the headers the middleware adds to answers it sees unsent are added here.
    headers = {
        **app[TRAFFIC].headers,
        "X-Request-ID": request[REQUEST_ID],
        "Content-Disposition": f'attachment; filename="shopflow-export-{day}.json"',
        "Cache-Control": "no-store",
    }
    resp = web.StreamResponse(headers=headers)
    resp.content_type = JSON
    resp.enable_chunked_encoding()
    pending = bytearray()
    try:
        async with aclosing(privacy.export_document(subject)) as pieces:
            async for piece in pieces:
                pending += piece
                if len(pending) >= FLUSH_AT:
                    await _write(request, resp, pending)
        await _write(request, resp, pending)
        await resp.write_eof()
    except BaseException:
        if resp.prepared and request.transport is not None:
            # The headers are out: no problem document can follow them, so the client learns
            # of the failure by the chunked body ending without its last chunk.
            request.transport.abort()
        raise
    return resp


async def _write(request: web.Request, resp: web.StreamResponse, pending: bytearray) -> None:
    """Send what has gathered; the headers go with the first piece, so a failure before it
    (the account gone) is still answered as a problem."""
    if not resp.prepared:
        await resp.prepare(request)
    await resp.write(bytes(pending))
    pending.clear()


@routes.delete("/api/v1/me")
@endpoint(
    summary="Erase the account: its orders stay for the books without the person; every session ends",
    tags=TAGS,
    body=EraseAccount,
    status=204,
    guard=require_user,
    errors=(403, 404, 422, 429),
)
async def erase(request: web.Request, body: EraseAccount) -> web.Response:
    app = request.app
    claims = request[PRINCIPAL]
    await privacy.erase_account(app[DB], app[AUTH], claims.user_id, claims.session_id, body.password)
    response = web.Response(status=204)
    set_browser_cookies(response, app[SETTINGS], None)  # a browser's session cookie names nothing now
    return response
