"""Templates (Jinja2 through aiohttp-jinja2, autoescaped) and what every page shares:
its theme, canonical link and security headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from ..auth.interface import Claims
from ..keys import DB, SETTINGS, WEB_ASSETS, WEB_PAGES
from ..media.interface import placeholder_url
from ..platform.settings import Settings
from ..users import interface as users
from .assets import Assets
from .country_names import country_name
from .csrf import VISITOR, csrf_input, remember, visitor
from .pagecache import PageCache

THEME_COOKIE = "theme"
# The account-access pages: the header's "Sign in" link does not come back to these.
ACCOUNT_DOORS = ("/signin", "/register", "/forgot-password", "/reset-password", "/verify-email")
THEMES = frozenset(users.Theme)
SHOP_NAME = "ShopFlow"
# Currencies whose minor unit is the unit itself (ISO 4217 exponent 0); the rest have cents.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND"})


def content_security_policy(settings: Settings) -> str:
    """No inline script or style anywhere; images may come from the media CDN."""
    cdn = settings.media_cdn_url.rstrip("/")
    origin = "/".join(cdn.split("/")[:3]) if cdn else ""
    images = f"'self' data: {origin}".strip()
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def page_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-cache",
        "Vary": "Cookie",
    }


def decimal_amount(amount: int, currency: str) -> str:
    """Minor units as the decimal text schema.org and people read: 1250 USD -> '12.50'."""
    if currency in ZERO_DECIMAL:
        return str(amount)
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d}"


def money(value: Mapping[str, Any] | Any) -> str:
    """A price ({amount, currency}, as a document or a record) as shown: '12.50 USD'."""
    if not isinstance(value, Mapping):
        value = {"amount": value.amount, "currency": value.currency}
    return f"{decimal_amount(int(value['amount']), str(value['currency']))} {value['currency']}"


def setup_templates(app: web.Application, assets: Assets) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("shopflow.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        enable_async=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
        filters={"money": money},
    )
    env.globals.update(
        static=assets.url,
        shop_name=SHOP_NAME,
        csrf_input=csrf_input,
        country_name=country_name,
        placeholder_url=placeholder_url,
    )


def cookie_theme(request: web.Request) -> str:
    theme = request.cookies.get(THEME_COOKIE, "")
    return theme if theme in THEMES else users.Theme.SYSTEM.value


async def theme_of(request: web.Request, claims: Claims | None) -> str:
    """The signed-in customer's chosen theme, else the guest's cookie, else the system's."""
    if claims is not None:
        return (await users.theme(request.app[DB], claims.user_id)).value
    return cookie_theme(request)


def signin_url(request: web.Request) -> str:
    """The sign-in page, coming back to this page afterwards (when it is one to come back to)."""
    # a HEAD is a GET without the body: the same page (a guest's is kept, and shown to GETs)
    if request.method not in ("GET", "HEAD") or request.path.startswith(ACCOUNT_DOORS):
        return "/signin"
    return "/signin?" + urlencode({"next": request.path_qs})


def count_cookie_name(settings: Settings) -> str:
    return f"{'' if settings.dev else '__Host-'}shopflow_items"


def cart_count(request: web.Request) -> int:
    """The header's count of items in the cart, from the cookie the cart's pages keep (so that
    no page but the cart's reads a cart for it)."""
    text = request.cookies.get(count_cookie_name(request.app[SETTINGS]), "")
    return int(text) if text.isdigit() and len(text) <= 5 else 0


def canonical_url(request: web.Request, path: str | None = None) -> str:
    return request.app[SETTINGS].public_url.rstrip("/") + (path if path is not None else request.path)


async def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    theme: str | None = None,
    look_up: bool = True,
) -> web.Response:
    """A page: the template with what every page shows (theme, canonical link, search text,
    whether someone is signed in). Who is at the browser is looked up once per request; with
    `look_up` False (an error page that must show with Redis down) only if already known."""
    who = request.get(VISITOR)
    if who is None and look_up:
        who = await visitor(request)
    claims = who.claims if who is not None else None
    shared: dict[str, Any] = {
        "theme": theme or await theme_of(request, claims),
        "canonical": canonical_url(request),
        "q": "",
        "nav": [],
        "signed_in": claims is not None,
        "signin_url": signin_url(request),
        "cart_count": cart_count(request),
        "here": request.path_qs,  # where the footer's theme form comes back to
    }
    if who is not None:  # the header's sign-out form and the footer's theme form carry it
        shared["csrf_token"] = who.token
    response = await aiohttp_jinja2.render_template_async(
        template, request, {**shared, **context}, status=status
    )
    remember(response, request)
    return response


def with_assets(app: web.Application) -> Assets:
    assets = app[WEB_ASSETS] = Assets()
    app[WEB_PAGES] = PageCache()
    return assets
