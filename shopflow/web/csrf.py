"""CSRF for the storefront's forms: every unsafe request carries a hidden `csrf_token`.

A signed-in browser's token is auth's token for its session; a guest's is a random token
kept in an HttpOnly SameSite=Lax cookie, which the form field must match (double submit).
A form without the right token is refused with 403 (an HTML page, through errors.py).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

import jinja2
import redis.exceptions
from aiohttp import web
from markupsafe import Markup

from ..auth.interface import Claims, browser_user, csrf_token
from ..keys import SETTINGS
from ..platform.errors import AppError, Forbidden
from ..platform.settings import Settings

FIELD = "csrf_token"
_GUEST_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Visitor:
    """Who is at the browser (claims None: a guest) and the token their forms carry."""

    claims: Claims | None
    token: str
    new_guest_token: bool = False  # made for this answer: the response must set its cookie


VISITOR = web.RequestKey("web_visitor", Visitor)


def guest_cookie_name(settings: Settings) -> str:
    return f"{'' if settings.dev else '__Host-'}shopflow_form"


class FormRefused(Forbidden):
    code = "csrf_failed"
    title = "This form has expired"


async def signed_in(request: web.Request) -> Claims | None:
    """The signed-in customer behind the session cookie; an ended session (or Redis down) is a guest."""
    try:
        return await browser_user(request)
    except (AppError, redis.exceptions.RedisError):
        return None


async def visitor(request: web.Request) -> Visitor:
    """The visitor, worked out once per request."""
    found: Visitor | None = request.get(VISITOR)
    if found is not None:
        return found
    claims = await signed_in(request)
    if claims is not None:
        found = Visitor(claims, csrf_token(request, claims))
    else:
        token = request.cookies.get(guest_cookie_name(request.app[SETTINGS]), "")
        if _GUEST_TOKEN.match(token):
            found = Visitor(None, token)
        else:
            found = Visitor(None, secrets.token_urlsafe(32), new_guest_token=True)
    request[VISITOR] = found
    return found


async def checked_form(request: web.Request) -> tuple[Visitor, dict[str, str]]:
    """The visitor and the posted form's text fields, once its CSRF token is found good; else 403."""
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    found = await visitor(request)
    given = fields.pop(FIELD, "")
    if found.new_guest_token or not hmac.compare_digest(given.encode(), found.token.encode()):
        raise FormRefused("this form has expired; reload the page and try again")
    return found, fields


def remember(response: web.StreamResponse, request: web.Request) -> None:
    """Give a guest the cookie their forms' token is matched against, the first time."""
    found: Visitor | None = request.get(VISITOR)
    if found is None or not found.new_guest_token:
        return
    settings = request.app[SETTINGS]
    # Written out rather than through http.cookies (a token needs no quoting): every first
    # visit to a page with a form sends it, and the Morsel machinery is most of its cost.
    secure = "" if settings.dev else "; Secure"
    cookie = f"{guest_cookie_name(settings)}={found.token}; HttpOnly; Path=/; SameSite=Lax{secure}"
    response.headers.add("Set-Cookie", cookie)


@jinja2.pass_context
def csrf_input(context: jinja2.runtime.Context) -> Markup:
    """The hidden field every unsafe form carries: `{{ csrf_input() }}`."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, context["csrf_token"])
