"""Guests' browse pages, kept rendered.

A guest's home, category or product page follows from the catalog's documents (the bytes
its cache hands out), the page's address and the theme cookie: nothing else a guest with an
empty cart sends changes it (a cart's count in the header is rendered for each request). So
it is rendered once per (template, theme, address, documents) and kept in this process's
memory (pagecache.py), keyed by the documents' bytes themselves. A catalog write makes new
documents, hence new keys: a kept page is never staler than the catalog's own cache, and
nothing here needs invalidating.

What differs per guest goes in as a placeholder: the form token (every page has a form, the
footer's theme switch) is rendered as `SENTINEL` and swapped for the guest's own on the way
out. For the browsers that accept gzip, a page is also kept compressed (once, on a thread),
in pieces that the token goes between (gzipped.py), so that no answer compresses anything.
Signed-in visitors' pages are rendered each time (their theme and token come from their
account and session). A page kept here must show nothing that its key does not determine.
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
from .gzipped import join, pieces
from .pagecache import PageCache
from .render import cart_count, cookie_theme, render

SENTINEL = "csrf" + "-" * 39  # as long as a token; a random token is never this
_SENTINEL = SENTINEL.encode()
HTML = {"Content-Type": "text/html; charset=utf-8"}
Context = Callable[[], Mapping[str, Any] | web.StreamResponse]


def keepable(request: web.Request) -> bool:
    """A guest (no session cookie: known without asking Redis) with an empty cart."""
    return not request.cookies.get(cookie_names(request.app[SETTINGS])[0]) and cart_count(request) == 0


async def guest_page(
    request: web.Request,
    template: str,
    documents: tuple[bytes, ...],
    context: Context,
) -> web.StreamResponse:
    """The page `context()` renders, kept for guests under the documents it shows and its
    address. `context()` may raise (a NotFound) or return a response (a redirect), which is
    answered as is."""
    if not keepable(request):
        made = context()
        if isinstance(made, web.StreamResponse):
            return made
        return await render(request, template, made)
    theme = cookie_theme(request)
    cache = request.app[WEB_PAGES]
    key = (template, theme, request.path_qs, *documents)
    body = cache.get(key)
    if not isinstance(body, bytes):
        made = context()
        if isinstance(made, web.StreamResponse):
            return made
        rendered = await render(request, template, {**made, "csrf_token": SENTINEL}, theme=theme)
        assert isinstance(rendered.body, bytes)
        body = rendered.body
        cache.put(key, body)
    token = (await csrf.visitor(request)).token.encode()
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        response = await _gzipped(cache, key, body, token)
    else:
        response = web.Response(body=body.replace(_SENTINEL, token), headers=HTML)
    csrf.remember(response, request)
    return response


async def _gzipped(cache: PageCache, key: tuple[Any, ...], body: bytes, token: bytes) -> web.Response:
    """The page gzipped, `token` in place of the placeholder."""
    packed_key = (*key, "gzip")
    packed = cache.get(packed_key)
    if packed is None:
        packed = await asyncio.to_thread(pieces, body, _SENTINEL)
        cache.put(packed_key, packed)
    assert isinstance(packed, tuple)
    gzipped = join(packed, token, body.replace(_SENTINEL, token))
    return web.Response(body=gzipped, headers={**HTML, "Content-Encoding": "gzip"})
