"""The cart as pages: add (from the product page), change a quantity, remove; plain forms
answered with a redirect (303) to the cart. A guest's cart is named by an HttpOnly cookie; a
signed-in customer's is their open cart. Every change goes through checkout's interface."""

from __future__ import annotations

import re
from uuid import UUID

from aiohttp import web

from ..checkout import interface as checkout
from ..keys import CHECKOUT, SETTINGS
from ..platform.settings import Settings
from . import csrf
from .csrf import Visitor
from .forms import page
from .render import count_cookie_name

routes = web.RouteTableDef()
CART_PATH = "/cart"
# What a change that did not happen tells the shopper, by the `notice` the redirect carries.
NOTICES = {
    "added": "Added to your cart.",
    "updated": "Your cart has been updated.",
    "removed": "The item has been removed.",
    "limit": "At most 99 of an item fit in a cart.",
    "unavailable": "That item is not for sale any more.",
    "invalid": "Choose an option and a quantity from 1 to 99.",
    "gone": "That item is no longer in your cart.",
    "placed": "This cart has been checked out already.",
}


def cart_cookie_name(settings: Settings) -> str:
    return f"{'' if settings.dev else '__Host-'}shopflow_cart"


def guest_cart_id(request: web.Request) -> UUID | None:
    try:
        return UUID(request.cookies.get(cart_cookie_name(request.app[SETTINGS]), ""))
    except ValueError:
        return None


def keep_cart(response: web.StreamResponse, request: web.Request, cart_id: UUID | None) -> None:
    """Name the guest's cart in their cookie, or forget it (None)."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        cart_cookie_name(settings),
        str(cart_id) if cart_id else "",
        path="/",
        httponly=True,
        secure=not settings.dev,
        samesite="Lax",
        max_age=request.app[CHECKOUT].cart_ttl if cart_id else 0,
    )


def keep_count(response: web.StreamResponse, request: web.Request, count: int) -> None:
    """Note how many items the visitor's cart holds, for the header of every page (which then
    reads no cart): set by every cart change and by the cart page."""
    settings = request.app[SETTINGS]
    if request.cookies.get(count_cookie_name(settings)) == str(count):
        return
    response.set_cookie(
        count_cookie_name(settings),
        str(count),
        path="/",
        httponly=True,
        secure=not settings.dev,
        samesite="Lax",
        max_age=request.app[CHECKOUT].cart_ttl,
    )


def last_order_cookie_name(settings: Settings) -> str:
    return f"{'' if settings.dev else '__Host-'}shopflow_last_order"


def order_path(order_id: UUID, token: str | None) -> str:
    """The order's page; a guest order's carries its secret."""
    return f"/orders/{order_id}" + (f"?token={token}" if token else "")


def keep_last_order(
    response: web.StreamResponse, request: web.Request, order_id: UUID, token: str | None
) -> None:
    """Remember the order just placed for an hour: a second tap on "Place order" lands on the
    cart, which links to the order the first tap placed."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        last_order_cookie_name(settings),
        f"{order_id}.{token or ''}",
        path="/",
        httponly=True,
        secure=not settings.dev,
        samesite="Lax",
        max_age=3600,
    )


def last_order(request: web.Request) -> str | None:
    """The page of the order this browser placed last, if it placed one within the hour."""
    found = re.fullmatch(
        r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{0,100})",
        request.cookies.get(last_order_cookie_name(request.app[SETTINGS]), ""),
    )
    return order_path(UUID(found.group(1)), found.group(2) or None) if found else None


def caller_of(who: Visitor) -> checkout.Caller:
    return checkout.Caller(who.claims.user_id) if who.claims else checkout.Caller()


async def current_cart(request: web.Request, who: Visitor) -> checkout.CartRecord | None:
    """The visitor's cart while it lives: their open cart, or the one their cookie names."""
    co = request.app[CHECKOUT]
    if who.claims is not None:
        return await checkout.open_cart_of(co, who.claims.user_id)
    cart_id = guest_cart_id(request)
    if cart_id is None:
        return None
    try:
        return await checkout.show_cart(co.db, cart_id, checkout.Caller(), co.pricing.currency)
    except checkout.CartNotFound:  # expired
        return None


def to_cart(notice: str | None = None) -> web.Response:
    location = f"{CART_PATH}?notice={notice}" if notice else CART_PATH
    return web.Response(status=303, headers={"Location": location})


def _quantity(text: str, least: int) -> int | None:
    try:
        quantity = int(text.strip())
    except ValueError:
        return None
    return quantity if least <= quantity <= 99 else None


@routes.get(CART_PATH)
async def show(request: web.Request) -> web.Response:
    who = await csrf.visitor(request)
    cart = await current_cart(request, who)
    notice_code = request.query.get("notice", "")
    notice = NOTICES.get(notice_code)
    placed = last_order(request) if notice_code == "placed" else None
    context = {"cart": cart, "notice": notice, "placed": placed, "title": "Your cart"}
    count = cart.item_count if cart else 0
    response = await page(request, "cart.html", {**context, "cart_count": count}, private=True)
    keep_count(response, request, count)
    return response


@routes.post(f"{CART_PATH}/items")
async def add(request: web.Request) -> web.Response:
    who, form = await csrf.checked_form(request)
    quantity = _quantity(form.get("quantity", "1"), 1)
    try:
        variant_id = UUID(form.get("variant_id", ""))
    except ValueError:
        return to_cart("invalid")
    if quantity is None:
        return to_cart("invalid")
    co, caller = request.app[CHECKOUT], caller_of(who)
    cart_id = None if who.claims else guest_cart_id(request)
    cart = None
    try:
        if cart_id is not None:
            try:
                cart = await checkout.add_item(co, cart_id, caller, variant_id, quantity)
            except (checkout.CartNotFound, checkout.CartClosed):
                cart_id = None  # expired or checked out: a new cart
        if cart_id is None:
            cart_id = (await checkout.open_cart(co, caller)).id
            cart = await checkout.add_item(co, cart_id, caller, variant_id, quantity)
    except checkout.QuantityLimit:
        return to_cart("limit")
    except checkout.UnknownVariant:
        return to_cart("unavailable")
    response = to_cart("added")
    if cart is not None:
        keep_count(response, request, cart.item_count)
    if who.claims is None:
        keep_cart(response, request, cart_id)
    return response


async def _change(request: web.Request, removing: bool) -> web.Response:
    who, form = await csrf.checked_form(request)
    quantity = 0 if removing else _quantity(form.get("quantity", ""), 0)
    if quantity is None:
        return to_cart("invalid")
    cart = await current_cart(request, who)
    try:
        item_id = UUID(request.match_info["item"])
    except ValueError:
        return to_cart("gone")
    if cart is None:
        return to_cart("gone")
    co = request.app[CHECKOUT]
    try:
        cart = await checkout.set_quantity(co, cart.id, caller_of(who), item_id, quantity)
    except (checkout.CartItemNotFound, checkout.CartNotFound, checkout.CartClosed):
        return to_cart("gone")
    response = to_cart("removed" if quantity == 0 else "updated")
    keep_count(response, request, cart.item_count)
    return response


@routes.post(CART_PATH + "/items/{item}")
async def change(request: web.Request) -> web.Response:
    return await _change(request, removing=False)


@routes.post(CART_PATH + "/items/{item}/remove")
async def remove(request: web.Request) -> web.Response:
    return await _change(request, removing=True)
