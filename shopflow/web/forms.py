"""Pages that carry forms: their CSRF token rendered, a new guest's token cookie set."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import csrf
from .render import render


async def page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200, private: bool = False
) -> web.Response:
    """The template rendered for the visitor, with `csrf_token` (forms use `csrf_input()`);
    a `private` page (a cart, an address, an order) is kept by no cache."""
    who = await csrf.visitor(request)
    response = await render(request, template, {"csrf_token": who.token, **context}, status=status)
    csrf.remember(response, request)
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response
