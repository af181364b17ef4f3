"""Pages that carry forms, and those that show a person's data."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .render import render


async def page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200, private: bool = False
) -> web.Response:
    """The template rendered for the visitor (forms use `csrf_input()`); a `private` page
    (a cart, an address, an order) is kept by no cache."""
    response = await render(request, template, context, status=status)
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response
