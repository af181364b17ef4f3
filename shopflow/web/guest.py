"""Guests' browse pages, kept rendered.

A guest's home, category or product page follows from the catalog's documents (the bytes
its cache hands out), the page's address and the theme cookie: nothing else a guest sends
changes it. So it is rendered once per (template, theme, address, documents) and kept in
this process's memory (pagecache.py), keyed by the documents' bytes themselves. A catalog
write makes new documents, hence new keys: a kept page is never staler than the catalog's
own cache, and nothing here needs invalidating.

What differs per guest goes in as a placeholder: the form token is rendered as `SENTINEL`
and swapped for the guest's own on the way out. For the browsers that accept gzip, a page
is also kept compressed (once, on a thread), in pieces that the token goes between
(gzipped.py), so that no answer compresses anything. Signed-in
visitors' pages are rendered each time (their theme and token come from their account and
session). A page kept here must show nothing that its key does not determine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ..auth.interface import cookie_names
from ..keys import SETTINGS, WEB_PAGES
from . import csrf
from .assets import accepts_gzip
from .forms import page
from .gzipped import join, pieces, whole
from .pagecache import PageCache
from .render import cookie_theme, render

SENTINEL = "csrf" + "-" * 39  # as long as a token; a random token is never this
_SENTINEL = SENTINEL.encode()
HTML = {"Content-Type": "text/html; charset=utf-8"}
Context = Callable[[], Mapping[str, Any] | web.StreamResponse]


def is_guest(request: web.Request) -> bool:
    """No session cookie: a guest, known without asking Redis."""
    return not request.cookies.get(cookie_names(request.app[SETTINGS])[0])


async def guest_page(
    request: web.Request,
    template: str,
    documents: tuple[bytes, ...],
    context: Context,
    *,
    forms: bool = False,
) -> web.StreamResponse:
    """The page `context()` renders, kept for guests under the documents it shows and its
    address (`forms`: it carries the visitor's form token). `context()` may raise (a
    NotFound) or return a response (a redirect), which is answered as is."""
    if not is_guest(request):
        made = context()
        if isinstance(made, web.StreamResponse):
            return made
        if forms:
            return await page(request, template, dict(made))
        return await render(request, template, made)
    theme = cookie_theme(request)
    cache = request.app[WEB_PAGES]
    key = (template, theme, request.path_qs, *documents)
    body = cache.get(key)
    if not isinstance(body, bytes):
        made = context()
        if isinstance(made, web.StreamResponse):
            return made
        shown = {**made, "csrf_token": SENTINEL} if forms else made
        rendered = await render(request, template, shown, theme=theme)
        assert isinstance(rendered.body, bytes)
        body = rendered.body
        cache.put(key, body)
    token = (await csrf.visitor(request)).token.encode() if forms else b""
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        response = await _gzipped(cache, key, body, token)
    else:
        response = web.Response(body=body.replace(_SENTINEL, token) if forms else body, headers=HTML)
    if forms:
        csrf.remember(response, request)
    return response


async def _gzipped(cache: PageCache, key: tuple[Any, ...], body: bytes, token: bytes) -> web.Response:
    """The page gzipped, `token` (if any) in place of the placeholder."""
    packed_key = (*key, "gzip")
    packed = cache.get(packed_key)
    if packed is None:
        packed = (
            await asyncio.to_thread(pieces, body, _SENTINEL)
            if token
            else await asyncio.to_thread(whole, body)
        )
        cache.put(packed_key, packed)
    if isinstance(packed, tuple):
        packed = join(packed, token, body.replace(_SENTINEL, token))
    return web.Response(body=packed, headers={**HTML, "Content-Encoding": "gzip"})
