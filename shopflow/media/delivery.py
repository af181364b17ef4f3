"""GET /media/{key}: a variant's bytes, for browsers and for a CDN in front of this origin.

Keys are content hashes, so an answer never changes: a strong ETag derived from the key,
cached for a year as immutable. Only variants (bytes the workers re-encoded) are served;
an original is never, whatever it holds, and any other key names nothing (404).

Local files go out by sendfile where the event loop has it (asyncio's does; uvloop's does
not, and then they are read in threads). S3 objects are streamed from a ranged GET through
the storage's bounded connections rather than redirected to a presigned URL: the answer
keeps our ETag, Range and cache headers, a CDN in front may cache it for a year (a
presigned URL expires, so a cached redirect to one breaks), and the bucket stays private.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated

from aiohttp import web
from pydantic import StringConstraints

from ..keys import MEDIA_STORAGE, TRAFFIC
from ..platform.endpoint import endpoint
from ..platform.errors import AppError, NotFound
from ..platform.middleware import REQUEST_ID
from .storage import VARIANT_KEY, Blob, ObjectMissing, is_variant, variant_format

routes = web.RouteTableDef()
CACHE_CONTROL = "public, max-age=31536000, immutable"
VariantKey = Annotated[str, StringConstraints(pattern=f"^{VARIANT_KEY.pattern}$")]
# One range, as RFC 9110 writes it; anything else (several ranges, other units) is ignored.
RANGE = re.compile(r"bytes=(?:([0-9]{1,18})-([0-9]{0,18})|-([0-9]{1,18}))", re.ASCII | re.IGNORECASE)


class MediaNotFound(NotFound):
    code = "media_not_found"


class RangeNotSatisfiable(AppError):
    status = 416
    code = "range_not_satisfiable"
    title = "Range not satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"the file has {size} bytes", headers={"Content-Range": f"bytes */{size}"})


@dataclass(frozen=True)
class Span:
    """The bytes an answer carries."""

    offset: int
    count: int
    partial: bool  # 206, with Content-Range


def etag(key: str) -> str:
    """A strong validator: the key names one sequence of bytes forever."""
    return f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'


def not_modified(request: web.Request, tag: str) -> bool:
    """Whether If-None-Match names `tag` (weakly compared, as RFC 9110 says for it)."""
    given = request.if_none_match
    return given is not None and any(t.value == "*" or f'"{t.value}"' == tag for t in given)


def span(request: web.Request, tag: str, size: int) -> Span:
    """The part of `size` bytes the request asks for; RangeNotSatisfiable when none of it is there."""
    whole = Span(0, size, partial=False)
    header = request.headers.get("Range")
    if header is None or (m := RANGE.fullmatch(header.strip())) is None:
        return whole
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != tag:  # the client holds other bytes
        return whole
    first, last, suffix = m.groups()
    if suffix is not None:
        if int(suffix) == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        count = min(int(suffix), size)
        return Span(size - count, count, partial=True)
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:  # not a range at all: ignored
        return whole
    if start >= size:
        raise RangeNotSatisfiable(size)
    return Span(start, end - start + 1, partial=True)


def _headers(request: web.Request, key: str, tag: str) -> dict[str, str]:
    # The middleware adds these only to answers it sees unsent; these are sent here.
    return {
        **request.app[TRAFFIC].headers,
        "X-Request-ID": request[REQUEST_ID],
        "ETag": tag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        "Content-Type": variant_format(key).media_type,
    }


async def _send(request: web.Request, resp: web.StreamResponse, blob: Blob, part: Span) -> None:
    """Send the headers and `part` of `blob`; sendfile for a local file, where there is one."""
    if blob.file is not None:
        await resp.prepare(request)
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("the client went away")
        try:
            await asyncio.get_running_loop().sendfile(transport, blob.file, part.offset, part.count)
        except NotImplementedError:  # uvloop: read in threads below
            pass
        else:
            await resp.write_eof()
            return
    async with aclosing(blob.chunks(part.offset, part.count)) as chunks:
        # The first piece before the headers: a key gone meanwhile is still a 404 here.
        async for chunk in chunks:
            if not resp.prepared:
                await resp.prepare(request)
            await resp.write(chunk)
    await resp.write_eof()


@routes.get("/media/{key:.+}")
@endpoint(
    summary="A variant's bytes: immutable (a strong ETag, cached a year), with Range and If-None-Match",
    tags=("media",),
    path={"key": VariantKey},
    media_type="image/*",
    errors=(416,),
    headers={
        "Range": "one byte range, e.g. bytes=0-1023: 206 with that part",
        "If-None-Match": "the ETag held: 304 while it names these bytes",
        "If-Range": "the ETag held: Range is honoured only while it names these bytes",
    },
    answers={206: "image/*", 304: None},
)
async def get_media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    if not is_variant(key):  # originals too: only re-encoded bytes are ever served
        raise MediaNotFound(f"no media {key!r}")
    try:
        async with request.app[MEDIA_STORAGE].open(key) as blob:
            return await _answer(request, key, blob)
    except ObjectMissing:
        raise MediaNotFound(f"no media {key!r}") from None


async def _answer(request: web.Request, key: str, blob: Blob) -> web.StreamResponse:
    tag = etag(key)
    headers = _headers(request, key, tag)
    if not_modified(request, tag):
        return web.StreamResponse(status=304, headers=headers)
    part = span(request, tag, blob.size)
    resp = web.StreamResponse(status=206 if part.partial else 200, headers=headers)
    resp.content_length = part.count
    if part.partial:
        resp.headers["Content-Range"] = f"bytes {part.offset}-{part.offset + part.count - 1}/{blob.size}"
    try:
        if request.method == "HEAD" or part.count == 0:
            await resp.prepare(request)
            await resp.write_eof()
        else:
            await _send(request, resp, blob, part)
    except BaseException:
        if resp.prepared and request.transport is not None:
            # The headers are out: no problem document can follow them, so the client
            # learns of the failure by the connection ending short of Content-Length.
            request.transport.abort()
        raise
    return resp
