"""GET /media/{key}: a variant's bytes, for browsers and for a CDN in front of this origin.

Keys are content hashes, so an answer never changes: a strong ETag derived from the key,
cached for a year as immutable. Only variants (bytes the workers re-encoded) are served;
an original is never, whatever it holds, and any other key names nothing (404).

The variants served most are answered from the process's memory (see cache.py), in one
write. Otherwise a local file up to 512 KB is read whole in one trip to a thread, and a
larger one goes out by sendfile where the event loop has it (asyncio's does; uvloop's does
not, and then it is read in pieces in threads). S3 objects are streamed from a ranged GET
through the storage's bounded connections rather than redirected to a presigned URL: the
answer keeps our ETag, Range and cache headers, a CDN in front may cache it for a year (a
presigned URL expires, so a cached redirect to one breaks), and the bucket stays private.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from contextlib import aclosing
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from aiohttp import web
from pydantic import StringConstraints

from ..keys import MEDIA_STORAGE, TRAFFIC
from ..platform.endpoint import endpoint
from ..platform.errors import AppError
from ..platform.middleware import REQUEST_ID
from .cache import CachedStorage
from .errors import MediaNotFound
from .storage import VARIANT_KEY, Blob, ObjectMissing, is_variant, variant_format

routes = web.RouteTableDef()
CACHE_CONTROL = "public, max-age=31536000, immutable"
VariantKey = Annotated[str, StringConstraints(pattern=f"^{VARIANT_KEY.pattern}$")]
# One range, as RFC 9110 writes it; anything else (several ranges, other units) is ignored.
RANGE = re.compile(r"bytes=(?:([0-9]{1,18})-([0-9]{0,18})|-([0-9]{1,18}))", re.ASCII | re.IGNORECASE)


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


@lru_cache(maxsize=4096)
def etag(key: str) -> str:
    """A strong validator: the key names one sequence of bytes forever."""
    return f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'


@lru_cache(maxsize=4096)
def _fixed_headers(key: str) -> dict[str, str]:
    """The headers every answer for `key` carries (copied before use)."""
    return {
        "ETag": etag(key),
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        "Content-Type": variant_format(key).mime,
    }


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


@dataclass(frozen=True)
class Plan:
    """What to answer: the status, its headers, and the part of the bytes (none for 304)."""

    status: int
    headers: dict[str, str]
    part: Span | None


def plan(request: web.Request, key: str, size: int) -> Plan:
    """The answer for `key` of `size` bytes, by the request's conditions and range."""
    headers = _fixed_headers(key).copy()
    tag = headers["ETag"]
    if not_modified(request, tag):
        return Plan(304, headers, None)
    part = span(request, tag, size)
    if part.partial:
        headers["Content-Range"] = f"bytes {part.offset}-{part.offset + part.count - 1}/{size}"
    return Plan(206 if part.partial else 200, headers, part)


def from_memory(request: web.Request, key: str, data: bytes) -> web.Response:
    """The answer for bytes in memory: one write, headers and body together."""
    p = plan(request, key, len(data))
    if p.part is None:
        return web.Response(status=p.status, headers=p.headers)
    body = memoryview(data)[p.part.offset : p.part.offset + p.part.count] if p.part.partial else data
    return web.Response(body=body, status=p.status, headers=p.headers)


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
async def get_variant(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    if not is_variant(key):  # originals too: only re-encoded bytes are ever served
        raise MediaNotFound(f"no media {key!r}")
    storage = request.app[MEDIA_STORAGE]
    if isinstance(storage, CachedStorage) and (data := storage.cached(key)) is not None:
        return from_memory(request, key, data)  # the hot path: nothing to await
    try:
        async with storage.open(key) as blob:
            if blob.data is not None:
                return from_memory(request, key, blob.data)
            return await _stream(request, key, blob)
    except ObjectMissing:
        raise MediaNotFound(f"no media {key!r}") from None


async def _stream(request: web.Request, key: str, blob: Blob) -> web.StreamResponse:
    """The answer for bytes in a file or in S3, sent from here (so the headers the
    middleware adds to answers it sees unsent are added here too)."""
    p = plan(request, key, blob.size)
    headers = {**request.app[TRAFFIC].headers, "X-Request-ID": request[REQUEST_ID], **p.headers}
    if p.part is None:
        return web.StreamResponse(status=p.status, headers=headers)
    resp = web.StreamResponse(status=p.status, headers=headers)
    resp.content_length = p.part.count
    try:
        if request.method == "HEAD" or p.part.count == 0:
            await resp.prepare(request)
            await resp.write_eof()
        else:
            await _send(request, resp, blob, p.part)
    except BaseException:
        if resp.prepared and request.transport is not None:
            # The headers are out: no problem document can follow them, so the client
            # learns of the failure by the connection ending short of Content-Length.
            request.transport.abort()
        raise
    return resp
