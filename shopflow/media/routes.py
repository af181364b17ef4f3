"""The media API: uploads (streamed, never held in memory), media by id, the list, deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from uuid import UUID

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ..auth.interface import PRINCIPAL, require_staff
from ..keys import DB, MEDIA_STORAGE, REDIS, SETTINGS
from ..platform.endpoint import endpoint, path_uuid
from ..platform.errors import BadRequest, Invalid, UnsupportedMediaType
from ..platform.jsonx import json_response
from . import service
from .errors import NoFile
from .models import Accepted, MediaOut, MediaPage, MediaQuery
from .storage import Spooled

routes = web.RouteTableDef()
TAGS = ("media",)
CHUNK = 65536
MAX_ALT = 500
UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "JPEG, PNG, WebP, GIF, AVIF, HEIF or TIFF",
        },
        "alt": {"type": "string", "maxLength": MAX_ALT},
    },
}


@routes.post("/api/v1/media")
@endpoint(
    summary="Upload an image (staff): kept, then made into variants by the workers",
    tags=TAGS,
    response=Accepted,
    status=202,
    guard=require_staff,
    errors=(400, 415, 422),
    raw_body="multipart/form-data",
    raw_schema=UPLOAD_SCHEMA,
    makes={"media_id": "/id"},
)
async def upload(request: web.Request) -> web.Response:
    app = request.app
    storage, settings = app[MEDIA_STORAGE], app[SETTINGS]
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("send the file as multipart/form-data")
    async with AsyncExitStack() as stack:
        spooled: Spooled | None = None
        alt = ""
        try:
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader) or part.name not in ("file", "alt"):
                    field = str(getattr(part, "name", None))
                    raise Invalid("unexpected part", errors=[{"field": field, "message": "not a field"}])
                if part.name == "alt":
                    alt = await _text(part, MAX_ALT)
                elif spooled is None:
                    spooled = await stack.enter_async_context(
                        storage.spool(_chunks(part), settings.media_max_bytes)
                    )
                else:
                    raise Invalid(
                        "one file at a time", errors=[{"field": "file", "message": "more than one"}]
                    )
        except (ValueError, AssertionError, HttpProcessingError) as e:  # aiohttp's words for a bad body
            raise BadRequest(f"malformed multipart body: {e}") from None
        if spooled is None:
            raise NoFile()
        claims = request[PRINCIPAL]
        media_id = await service.upload(app[DB], app[REDIS], storage, spooled, alt, claims.user_id)
    return json_response({"id": media_id, "status": "processing"}, status=202)


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):  # counted by the spool: read_chunk has no limit
        yield chunk


async def _text(part: BodyPartReader, limit: int) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > limit * 4:  # UTF-8's widest character
            break
    try:
        text = data.decode(part.get_charset("utf-8"))
    except (UnicodeDecodeError, LookupError):
        text = None
    if text is None or len(text) > limit or "\x00" in text:
        raise Invalid(
            "alt is not valid", errors=[{"field": "alt", "message": f"text of at most {limit} characters"}]
        )
    return text


@routes.get("/api/v1/media/{media_id}")
@endpoint(summary="A media and its variants", tags=TAGS, response=MediaOut, path={"media_id": UUID})
async def get_media(request: web.Request) -> web.Response:
    app = request.app
    media = await service.get_media(app[DB], path_uuid(request, "media_id"), app[SETTINGS].media_cdn_url)
    return json_response(media)


@routes.get("/api/v1/media")
@endpoint(
    summary="Media, newest first (staff)",
    tags=TAGS,
    query=MediaQuery,
    response=MediaPage,
    errors=(422,),  # a cursor this list did not make
    guard=require_staff,
)
async def list_media(request: web.Request, query: MediaQuery) -> web.Response:
    app = request.app
    items, cursor = await service.list_media(app[DB], query.limit, query.cursor, app[SETTINGS].media_cdn_url)
    return json_response({"items": items, "next_cursor": cursor})


@routes.delete("/api/v1/media/{media_id}")
@endpoint(
    summary="Delete a media and its bytes (staff); 409 while a product shows it",
    tags=TAGS,
    status=204,
    guard=require_staff,
    path={"media_id": UUID},
    errors=(409,),
)
async def delete_media(request: web.Request) -> web.Response:
    app = request.app
    await service.delete_media(app[DB], app[MEDIA_STORAGE], path_uuid(request, "media_id"))
    return web.Response(status=204)
