"""Wishlists as pages: "Save to wishlist" on a product page for everyone (a signed-in
customer's default list; a guest's own list, named by an HttpOnly cookie as a guest cart is),
the guest's /wishlist, the customer's /account/wishlist and their named lists."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from ..auth.interface import Claims
from ..keys import SETTINGS
from ..platform.errors import Invalid, NotFound
from ..platform.settings import Settings
from ..users import interface as users
from . import csrf
from .customer import account_form, account_page, see_other
from .forms import page

routes = web.RouteTableDef()
GUEST_PATH = "/wishlist"
ACCOUNT_PATH = "/account/wishlist"
LISTS_PATH = "/account/wishlists"
PER_PAGE = 50
NOTICES = {
    "saved": "Saved to your wishlist.",
    "removed": "Removed from your wishlist.",
    "unavailable": "That product is not for sale any more.",
    "full": "Your wishlist is full. Remove something to save another product.",
}


def wishlist_cookie_name(settings: Settings) -> str:
    return f"{'' if settings.dev else '__Host-'}shopflow_wishlist"


def guest_wishlist_id(request: web.Request) -> UUID | None:
    """The guest's wishlist, as their cookie names it."""
    try:
        return UUID(request.cookies.get(wishlist_cookie_name(request.app[SETTINGS]), ""))
    except ValueError:
        return None


def keep_wishlist(response: web.StreamResponse, request: web.Request, wishlist_id: UUID | None) -> None:
    """Name the guest's wishlist in their cookie, or forget it (None)."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        wishlist_cookie_name(settings),
        str(wishlist_id) if wishlist_id else "",
        path="/",
        httponly=True,
        secure=not settings.dev,
        samesite="Lax",
        max_age=settings.cart_ttl if wishlist_id else 0,
    )


def _items(found: users.ItemsPage) -> list[dict[str, Any]]:
    """The list's products, as the catalog summarises them now."""
    return [{"product": orjson.loads(item.product), "added_at": item.added_at} for item in found.items]


def _notice(request: web.Request) -> str | None:
    return NOTICES.get(request.query.get("notice", ""))


def _product_id(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


async def _save_for_guest(request: web.Request, product_id: UUID) -> web.Response:
    shelf, list_id = users.shelf(request.app), guest_wishlist_id(request)
    if list_id is not None:
        try:
            await users.add_item(shelf, None, list_id, product_id, users.Notices())
        except users.WishlistNotFound:  # expired, or folded into an account at a sign-in
            list_id = None
    if list_id is None:
        list_id = (await users.create_guest_list(shelf)).id
        await users.add_item(shelf, None, list_id, product_id, users.Notices())
    response = see_other(f"{GUEST_PATH}?notice=saved")
    keep_wishlist(response, request, list_id)
    return response


@routes.post(GUEST_PATH + "/items")
async def save(request: web.Request) -> web.Response:
    """The product page's "Save to wishlist"."""
    who, posted = await csrf.checked_form(request)
    page_path = ACCOUNT_PATH if who.claims else GUEST_PATH
    product_id = _product_id(posted.get("product_id", ""))
    try:
        if product_id is None:
            raise users.UnknownProduct("no such product")
        if who.claims is None:
            return await _save_for_guest(request, product_id)
        await users.add_to_default(users.shelf(request.app), who.claims.user_id, product_id, users.Notices())
    except users.UnknownProduct:
        return see_other(f"{page_path}?notice=unavailable")
    except users.WishlistFull:
        return see_other(f"{page_path}?notice=full")
    return see_other(f"{page_path}?notice=saved")


@routes.get(GUEST_PATH)
async def guest_list(request: web.Request) -> web.Response:
    who = await csrf.visitor(request)
    if who.claims is not None:
        return see_other(ACCOUNT_PATH + (f"?notice={request.query['notice']}" if _notice(request) else ""))
    list_id, items = guest_wishlist_id(request), []
    if list_id is not None:
        try:
            items = _items(await users.show_list(users.shelf(request.app), None, list_id, None, PER_PAGE))
        except users.WishlistNotFound:  # expired
            list_id = None
    context = {"items": items, "notice": _notice(request), "remove_base": GUEST_PATH + "/items"}
    return await page(request, "account/guest_wishlist.html", context, private=True)


@routes.post(GUEST_PATH + "/items/{product}/remove")
async def guest_remove(request: web.Request) -> web.Response:
    who, _ = await csrf.checked_form(request)
    product_id = _product_id(request.match_info["product"])
    if who.claims is not None:
        return await _remove_from_default(request, who.claims, product_id)
    list_id = guest_wishlist_id(request)
    if list_id is not None and product_id is not None:
        with suppress(users.WishlistNotFound):  # expired: nothing on it any more
            await users.remove_item(users.shelf(request.app), None, list_id, product_id)
    return see_other(f"{GUEST_PATH}?notice=removed")


async def _remove_from_default(request: web.Request, claims: Claims, product_id: UUID | None) -> web.Response:
    if product_id is not None:
        await users.remove_from_default(users.shelf(request.app), claims.user_id, product_id)
    return see_other(f"{ACCOUNT_PATH}?notice=removed")


@routes.get(ACCOUNT_PATH)
@account_page
async def default_list(request: web.Request, claims: Claims) -> web.Response:
    cursor = request.query.get("cursor") or None
    try:
        found = await users.default_list(users.shelf(request.app), claims.user_id, cursor, PER_PAGE)
    except Invalid:  # a cursor this list did not make
        return see_other(ACCOUNT_PATH)
    context = {
        "wishlist": found.wishlist,
        "items": _items(found),
        "next_cursor": found.next_cursor,
        "notice": _notice(request),
        "remove_base": ACCOUNT_PATH,
    }
    return await page(request, "account/wishlist.html", context, private=True)


@routes.post(ACCOUNT_PATH + "/{product}/remove")
@account_form
async def remove(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    return await _remove_from_default(request, claims, _product_id(request.match_info["product"]))


@routes.get(LISTS_PATH)
@account_page
async def named_lists(request: web.Request, claims: Claims) -> web.Response:
    found = await users.lists(users.shelf(request.app), claims.user_id)
    return await page(request, "account/wishlists.html", {"lists": found}, private=True)


@routes.get(LISTS_PATH + "/{wishlist}")
@account_page
async def named_list(request: web.Request, claims: Claims) -> web.Response:
    list_id = _product_id(request.match_info["wishlist"])
    if list_id is None:
        raise NotFound("no such wishlist")
    cursor = request.query.get("cursor") or None
    try:
        found = await users.show_list(users.shelf(request.app), claims.user_id, list_id, cursor, PER_PAGE)
    except Invalid:
        return see_other(f"{LISTS_PATH}/{list_id}")
    context = {"wishlist": found.wishlist, "items": _items(found), "next_cursor": found.next_cursor}
    return await page(request, "account/named_wishlist.html", context, private=True)
