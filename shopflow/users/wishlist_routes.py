"""The wishlists' HTTP routes: the caller's default and named lists under /api/v1/me, share
links read without signing in, and guests' lists (reachable by whoever holds their id).

Adding a product is idempotent: 201 with the item when it is new to the list, 200 with it
when it was there already. Removing one that is not there is 204 all the same.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from ..auth.interface import PRINCIPAL, require_user
from ..platform.endpoint import endpoint, path_uuid
from ..platform.jsonx import json_response
from . import wishlists
from .interface import shelf
from .models import (
    Added,
    GuestWishlist,
    GuestWishlistAdd,
    ItemRecord,
    ItemsPage,
    ItemsQuery,
    ListedItem,
    SharedWishlist,
    ShareLink,
    ShareToken,
    Wishlist,
    WishlistAdd,
    WishlistCreate,
    WishlistInfo,
    WishlistItem,
    WishlistItemChange,
    WishlistPage,
    WishlistRecord,
    WishlistRename,
)
from .wishlists import Notices, Shelf

routes = web.RouteTableDef()
TAGS = ("wishlists",)
ADDED = {200: WishlistItem}  # the product was on the list already
GUEST_ADDED = {200: ListedItem}


def _shelf(request: web.Request) -> Shelf:
    return shelf(request.app)


def _user(request: web.Request) -> UUID:
    return request[PRINCIPAL].user_id


def _info(wishlist: WishlistRecord) -> dict[str, Any]:
    return {
        "id": wishlist.id,
        "name": wishlist.name,
        "is_default": wishlist.is_default,
        "shared": wishlist.shared,
        "created_at": wishlist.created_at,
        "updated_at": wishlist.updated_at,
    }


def _item(item: ItemRecord, *, flags: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "product_id": item.product_id,
        "added_at": item.added_at,
        "product": orjson.Fragment(item.product),  # the catalog's summary, as it made it
    }
    if flags:
        shown |= {
            "notify_back_in_stock": item.notify_back_in_stock,
            "notify_price_drop": item.notify_price_drop,
        }
    return shown


def _page(page: ItemsPage, *, flags: bool = True) -> dict[str, Any]:
    return {"items": [_item(i, flags=flags) for i in page.items], "next_cursor": page.next_cursor}


def _notices(body: WishlistAdd | WishlistItemChange) -> Notices:
    return Notices(body.notify_back_in_stock, body.notify_price_drop)


def _added(added: Added, *, flags: bool = True) -> web.Response:
    return json_response(_item(added.item, flags=flags), status=201 if added.created else 200)


# The default list


@routes.get("/api/v1/me/wishlist")
@endpoint(
    summary="The caller's default wishlist (made on first use), a page of its items, newest first",
    tags=TAGS,
    query=ItemsQuery,
    response=Wishlist,
    guard=require_user,
    errors=(422,),  # a cursor this list did not make
)
async def get_my_wishlist(request: web.Request, query: ItemsQuery) -> web.Response:
    page = await wishlists.default_list(_shelf(request), _user(request), query.cursor, query.limit)
    return json_response(_info(page.wishlist) | _page(page))


@routes.post("/api/v1/me/wishlist")
@endpoint(
    summary="Put a product on the default wishlist: 201 when new, 200 when it was there already",
    tags=TAGS,
    body=WishlistAdd,
    response=WishlistItem,
    status=201,
    responses=ADDED,
    guard=require_user,
    makes={"product_id": "/product_id"},
    errors=(409, 422),  # 409: the list is full; 422: the product is not on sale
)
async def add_to_my_wishlist(request: web.Request, body: WishlistAdd) -> web.Response:
    added = await wishlists.add_to_default(_shelf(request), _user(request), body.product_id, _notices(body))
    return _added(added)


@routes.patch("/api/v1/me/wishlist/{product_id}")
@endpoint(
    summary="Ask for, or stop asking for, an item's back-in-stock and price-drop notices",
    tags=TAGS,
    body=WishlistItemChange,
    response=WishlistItem,
    guard=require_user,
    path={"product_id": UUID},
    errors=(404,),
)
async def change_my_wishlist_item(request: web.Request, body: WishlistItemChange) -> web.Response:
    product_id = path_uuid(request, "product_id")
    item = await wishlists.change_default_item(_shelf(request), _user(request), product_id, _notices(body))
    return json_response(_item(item))


@routes.delete("/api/v1/me/wishlist/{product_id}")
@endpoint(
    summary="Take a product off the default wishlist (204 whether or not it was there)",
    tags=TAGS,
    status=204,
    guard=require_user,
    path={"product_id": UUID},
)
async def remove_from_my_wishlist(request: web.Request) -> web.Response:
    await wishlists.remove_from_default(_shelf(request), _user(request), path_uuid(request, "product_id"))
    return web.Response(status=204)


# Named lists


@routes.get("/api/v1/me/wishlists")
@endpoint(
    summary="The caller's wishlists, the default one first (at most 50: one page)",
    tags=TAGS,
    response=WishlistPage,
    guard=require_user,
)
async def list_my_wishlists(request: web.Request) -> web.Response:
    found = await wishlists.lists(_shelf(request), _user(request))
    return json_response({"items": [_info(w) for w in found], "next_cursor": None})


@routes.post("/api/v1/me/wishlists")
@endpoint(
    summary="Make a named wishlist",
    tags=TAGS,
    body=WishlistCreate,
    response=WishlistInfo,
    status=201,
    guard=require_user,
    makes={"wishlist_id": "/id"},
    errors=(409,),  # 50 lists already
)
async def create_my_wishlist(request: web.Request, body: WishlistCreate) -> web.Response:
    made = await wishlists.create_list(_shelf(request), _user(request), body.name)
    return json_response(_info(made), status=201)


@routes.get("/api/v1/me/wishlists/{wishlist_id}")
@endpoint(
    summary="One of the caller's wishlists, a page of its items, newest first",
    tags=TAGS,
    query=ItemsQuery,
    response=Wishlist,
    guard=require_user,
    path={"wishlist_id": UUID},
    errors=(404, 422),
)
async def get_my_named_wishlist(request: web.Request, query: ItemsQuery) -> web.Response:
    list_id = path_uuid(request, "wishlist_id")
    page = await wishlists.show_list(_shelf(request), _user(request), list_id, query.cursor, query.limit)
    return json_response(_info(page.wishlist) | _page(page))


@routes.patch("/api/v1/me/wishlists/{wishlist_id}")
@endpoint(
    summary="Rename one of the caller's wishlists",
    tags=TAGS,
    body=WishlistRename,
    response=WishlistInfo,
    guard=require_user,
    path={"wishlist_id": UUID},
    errors=(404,),
)
async def rename_my_wishlist(request: web.Request, body: WishlistRename) -> web.Response:
    assert body.name is not None  # a patch's only field, never null
    renamed = await wishlists.rename_list(
        _shelf(request), _user(request), path_uuid(request, "wishlist_id"), body.name
    )
    return json_response(_info(renamed))


@routes.delete("/api/v1/me/wishlists/{wishlist_id}")
@endpoint(
    summary="Delete one of the caller's named wishlists (the default one stays: 409)",
    tags=TAGS,
    status=204,
    guard=require_user,
    path={"wishlist_id": UUID},
    errors=(404, 409),
)
async def delete_my_wishlist(request: web.Request) -> web.Response:
    await wishlists.delete_list(_shelf(request), _user(request), path_uuid(request, "wishlist_id"))
    return web.Response(status=204)


@routes.post("/api/v1/me/wishlists/{wishlist_id}/items")
@endpoint(
    summary="Put a product on one of the caller's wishlists: 201 when new, 200 when it was there",
    tags=TAGS,
    body=WishlistAdd,
    response=WishlistItem,
    status=201,
    responses=ADDED,
    guard=require_user,
    path={"wishlist_id": UUID},
    makes={"product_id": "/product_id"},
    errors=(404, 409, 422),
)
async def add_to_my_named_wishlist(request: web.Request, body: WishlistAdd) -> web.Response:
    list_id = path_uuid(request, "wishlist_id")
    added = await wishlists.add_item(
        _shelf(request), _user(request), list_id, body.product_id, _notices(body)
    )
    return _added(added)


@routes.patch("/api/v1/me/wishlists/{wishlist_id}/items/{product_id}")
@endpoint(
    summary="Ask for, or stop asking for, an item's notices",
    tags=TAGS,
    body=WishlistItemChange,
    response=WishlistItem,
    guard=require_user,
    path={"wishlist_id": UUID, "product_id": UUID},
    errors=(404,),
)
async def change_my_named_wishlist_item(request: web.Request, body: WishlistItemChange) -> web.Response:
    list_id, product_id = path_uuid(request, "wishlist_id"), path_uuid(request, "product_id")
    item = await wishlists.change_item(_shelf(request), _user(request), list_id, product_id, _notices(body))
    return json_response(_item(item))


@routes.delete("/api/v1/me/wishlists/{wishlist_id}/items/{product_id}")
@endpoint(
    summary="Take a product off one of the caller's wishlists (204 whether or not it was there)",
    tags=TAGS,
    status=204,
    guard=require_user,
    path={"wishlist_id": UUID, "product_id": UUID},
    errors=(404,),
)
async def remove_from_my_named_wishlist(request: web.Request) -> web.Response:
    list_id, product_id = path_uuid(request, "wishlist_id"), path_uuid(request, "product_id")
    await wishlists.remove_item(_shelf(request), _user(request), list_id, product_id)
    return web.Response(status=204)


@routes.post("/api/v1/me/wishlists/{wishlist_id}/share")
@endpoint(
    summary="A new share link for a wishlist, readable without signing in; it replaces the last one",
    tags=TAGS,
    response=ShareLink,
    status=201,
    guard=require_user,
    path={"wishlist_id": UUID},
    makes={"share_token": "/token"},
    errors=(404,),
)
async def share_my_wishlist(request: web.Request) -> web.Response:
    token, url = await wishlists.share_list(
        _shelf(request), _user(request), path_uuid(request, "wishlist_id")
    )
    return json_response({"token": token, "url": url}, status=201)


@routes.delete("/api/v1/me/wishlists/{wishlist_id}/share")
@endpoint(
    summary="Revoke a wishlist's share link",
    tags=TAGS,
    status=204,
    guard=require_user,
    path={"wishlist_id": UUID},
    errors=(404,),
)
async def unshare_my_wishlist(request: web.Request) -> web.Response:
    await wishlists.unshare_list(_shelf(request), _user(request), path_uuid(request, "wishlist_id"))
    return web.Response(status=204)


# Without signing in


@routes.get("/api/v1/wishlists/shared/{share_token}")
@endpoint(
    summary="A shared wishlist: its name and a page of its items (nothing about its owner)",
    tags=TAGS,
    query=ItemsQuery,
    response=SharedWishlist,
    path={"share_token": ShareToken},
    errors=(404, 422),
)
async def get_shared_wishlist(request: web.Request, query: ItemsQuery) -> web.Response:
    token = request.match_info["share_token"]  # any other text than a live link's names nothing: 404
    page = await wishlists.shared_list(_shelf(request), token, query.cursor, query.limit)
    return json_response({"name": page.wishlist.name} | _page(page, flags=False))


@routes.post("/api/v1/wishlists")
@endpoint(
    summary="Start a guest's wishlist: whoever holds its id may use it; folded into an account at sign-in",
    tags=TAGS,
    response=GuestWishlist,
    status=201,
    makes={"guest_wishlist_id": "/id"},
)
async def create_guest_wishlist(request: web.Request) -> web.Response:
    made = await wishlists.create_guest_list(_shelf(request))
    return json_response(_guest(made, ItemsPage(made, (), None)), status=201)


def _guest(wishlist: WishlistRecord, page: ItemsPage) -> dict[str, Any]:
    return {"id": wishlist.id, "expires_at": wishlist.expires_at} | _page(page, flags=False)


@routes.get("/api/v1/wishlists/{guest_wishlist_id}")
@endpoint(
    summary="A guest's wishlist, a page of its items, newest first",
    tags=TAGS,
    query=ItemsQuery,
    response=GuestWishlist,
    path={"guest_wishlist_id": UUID},
    errors=(404, 422),
)
async def get_guest_wishlist(request: web.Request, query: ItemsQuery) -> web.Response:
    list_id = path_uuid(request, "guest_wishlist_id")
    page = await wishlists.show_list(_shelf(request), None, list_id, query.cursor, query.limit)
    return json_response(_guest(page.wishlist, page))


@routes.post("/api/v1/wishlists/{guest_wishlist_id}/items")
@endpoint(
    summary="Put a product on a guest's wishlist: 201 when new, 200 when it was there",
    tags=TAGS,
    body=GuestWishlistAdd,
    response=ListedItem,
    status=201,
    responses=GUEST_ADDED,
    path={"guest_wishlist_id": UUID},
    makes={"product_id": "/product_id"},
    errors=(404, 409, 422),
)
async def add_to_guest_wishlist(request: web.Request, body: GuestWishlistAdd) -> web.Response:
    list_id = path_uuid(request, "guest_wishlist_id")
    added = await wishlists.add_item(_shelf(request), None, list_id, body.product_id, Notices())
    return _added(added, flags=False)


@routes.delete("/api/v1/wishlists/{guest_wishlist_id}/items/{product_id}")
@endpoint(
    summary="Take a product off a guest's wishlist (204 whether or not it was there)",
    tags=TAGS,
    status=204,
    path={"guest_wishlist_id": UUID, "product_id": UUID},
    errors=(404,),
)
async def remove_from_guest_wishlist(request: web.Request) -> web.Response:
    list_id, product_id = path_uuid(request, "guest_wishlist_id"), path_uuid(request, "product_id")
    await wishlists.remove_item(_shelf(request), None, list_id, product_id)
    return web.Response(status=204)
