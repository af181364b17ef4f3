"""Wishlists: a customer's default list (made on first use) and named ones, share links,
guests' lists (kept like a guest cart, folded into the account's default list at sign-in).

Items name products; what a list shows of them is the catalog's current summary, asked for
once per page, and products no longer on sale drop out of what is shown (the rows stay, and
come back if the product does). Changes to a list's items run under its row lock, so two
requests adding one product make one item, and a list never passes its cap.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from ..catalog.interface import listed_products, product_summaries
from ..platform.db import Database, Executor
from ..platform.pagination import decode_cursor, encode_cursor
from . import wishlist_queries as q
from .errors import (
    DefaultWishlistKept,
    TooManyWishlists,
    UnknownProduct,
    WishlistFull,
    WishlistItemNotFound,
    WishlistNotFound,
)
from .models import (
    DEFAULT_WISHLIST_NAME,
    MAX_WISHLIST_ITEMS,
    MAX_WISHLISTS,
    Added,
    ExportedWishlistRecord,
    ItemRecord,
    ItemsPage,
    WishlistRecord,
)


@dataclass(frozen=True)
class Shelf:
    """What the wishlists work with."""

    db: Database
    cdn_url: str  # where thumbnails point
    guest_ttl: int  # seconds an idle guest's list lives (the cart's)
    public_url: str  # where share links point


@dataclass(frozen=True)
class Notices:
    """The notices an add or change asks for: None leaves a flag as it is."""

    back_in_stock: bool | None = None
    price_drop: bool | None = None


def _record(row: asyncpg.Record) -> WishlistRecord:
    return WishlistRecord(
        row["id"],
        row["name"],
        row["is_default"],
        row["shared"],
        row["created_at"],
        row["updated_at"],
        row["expires_at"],
    )


def _item(row: asyncpg.Record, summary: bytes) -> ItemRecord:
    return ItemRecord(
        row["product_id"], row["added_at"], row["notify_back_in_stock"], row["notify_price_drop"], summary
    )


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _not_found(wishlist_id: UUID) -> WishlistNotFound:
    return WishlistNotFound(f"no wishlist {wishlist_id}")


def _unknown(product_id: UUID) -> UnknownProduct:
    return UnknownProduct(
        f"no product {product_id} on sale", errors=[{"field": "product_id", "message": "not on sale"}]
    )


# Reading


async def _page(shelf: Shelf, wishlist: WishlistRecord, cursor: str | None, limit: int) -> ItemsPage:
    """A page of the list's items, newest first, with their products' current summaries."""
    after = None
    if cursor:
        added_at, product_id = decode_cursor(cursor, (datetime, UUID))
        after = (added_at, product_id)
    rows = await q.fetch_items(shelf.db, wishlist.id, after, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1]["added_at"].isoformat(), str(rows[-1]["product_id"])])
    shown = await product_summaries(shelf.db, {r["product_id"] for r in rows}, shelf.cdn_url)
    items = tuple(_item(r, shown[r["product_id"]]) for r in rows if r["product_id"] in shown)
    return ItemsPage(wishlist, items, next_cursor)


async def _default(ex: Executor, user_id: UUID, *, lock: bool = False) -> WishlistRecord:
    """The customer's default list, made now if it is their first use."""
    row = await q.fetch_default(ex, user_id, lock=lock)
    if row is None:
        await q.insert_default(ex, user_id, DEFAULT_WISHLIST_NAME)
        row = await q.fetch_default(ex, user_id, lock=lock)
        assert row is not None
    return _record(row)


async def _owned(shelf: Shelf, user_id: UUID | None, wishlist_id: UUID) -> WishlistRecord:
    row = await q.fetch_list(shelf.db, wishlist_id, user_id)
    if row is None:
        raise _not_found(wishlist_id)
    return _record(row)


async def default_list(shelf: Shelf, user_id: UUID, cursor: str | None, limit: int) -> ItemsPage:
    """A page of the customer's default list."""
    return await _page(shelf, await _default(shelf.db, user_id), cursor, limit)


async def _default_id(shelf: Shelf, user_id: UUID) -> UUID:
    """The id of the customer's default list, made now if need be."""
    return (await _default(shelf.db, user_id)).id


async def show_list(
    shelf: Shelf, user_id: UUID | None, wishlist_id: UUID, cursor: str | None, limit: int
) -> ItemsPage:
    """A page of one of the customer's lists (`user_id`), or of a guest's list (None)."""
    return await _page(shelf, await _owned(shelf, user_id, wishlist_id), cursor, limit)


async def lists(shelf: Shelf, user_id: UUID) -> list[WishlistRecord]:
    """The customer's lists, the default one (made now if need be) first."""
    await _default(shelf.db, user_id)
    return [_record(r) for r in await q.fetch_lists(shelf.db, user_id)]


async def shared_list(shelf: Shelf, token: str, cursor: str | None, limit: int) -> ItemsPage:
    """A page of the list a live share link names."""
    row = await q.fetch_shared(shelf.db, _token_hash(token))
    if row is None:
        raise WishlistNotFound("this share link does not exist or was revoked")
    return await _page(shelf, _record(row), cursor, limit)


# Items


async def add_item(
    shelf: Shelf, user_id: UUID | None, wishlist_id: UUID, product_id: UUID, notices: Notices
) -> Added:
    """Put a product on sale on a list, or set the notices of the item that has it already."""
    product = (await listed_products(shelf.db, [product_id])).get(product_id)
    summary = (await product_summaries(shelf.db, [product_id], shelf.cdn_url)).get(product_id)
    if product is None or summary is None:
        raise _unknown(product_id)
    watch = product.price if notices.price_drop else None
    async with shelf.db.transaction() as conn:
        if not await q.touch_list(conn, wishlist_id, user_id, shelf.guest_ttl):
            raise _not_found(wishlist_id)
        row = await q.fetch_item(conn, wishlist_id, product_id)
        created = row is None
        if row is None:
            if await q.count_items(conn, wishlist_id) >= MAX_WISHLIST_ITEMS:
                raise WishlistFull(f"a list holds at most {MAX_WISHLIST_ITEMS} products")
            try:
                row = await q.insert_item(
                    conn,
                    wishlist_id,
                    product_id,
                    bool(notices.back_in_stock),
                    bool(notices.price_drop),
                    watch,
                )
            except asyncpg.ForeignKeyViolationError:  # the product went meanwhile
                raise _unknown(product_id) from None
        elif notices != Notices():
            row = await q.update_flags(
                conn, wishlist_id, product_id, notices.back_in_stock, notices.price_drop, watch
            )
            assert row is not None
    return Added(_item(row, summary), created)


async def add_to_default(shelf: Shelf, user_id: UUID, product_id: UUID, notices: Notices) -> Added:
    """Put a product on the customer's default list (again is fine)."""
    return await add_item(shelf, user_id, await _default_id(shelf, user_id), product_id, notices)


async def change_item(
    shelf: Shelf, user_id: UUID, wishlist_id: UUID, product_id: UUID, notices: Notices
) -> ItemRecord:
    """Ask for (or stop asking for) an item's notices; asking again re-arms them."""
    product = (await listed_products(shelf.db, [product_id])).get(product_id)
    summary = (await product_summaries(shelf.db, [product_id], shelf.cdn_url)).get(product_id)
    missing = WishlistItemNotFound(f"product {product_id} is not on this list")
    if product is None or summary is None:  # (no longer) on sale: not shown, so not there
        raise missing
    watch = product.price if notices.price_drop else None
    async with shelf.db.transaction() as conn:
        if not await q.touch_list(conn, wishlist_id, user_id, shelf.guest_ttl):
            raise _not_found(wishlist_id)
        row = await q.update_flags(
            conn, wishlist_id, product_id, notices.back_in_stock, notices.price_drop, watch
        )
    if row is None:
        raise missing
    return _item(row, summary)


async def remove_item(shelf: Shelf, user_id: UUID | None, wishlist_id: UUID, product_id: UUID) -> None:
    """Take a product off a list; one that is not on it is gone already."""
    async with shelf.db.transaction() as conn:
        if not await q.touch_list(conn, wishlist_id, user_id, shelf.guest_ttl):
            raise _not_found(wishlist_id)
        await q.delete_item(conn, wishlist_id, product_id)


async def change_default_item(shelf: Shelf, user_id: UUID, product_id: UUID, notices: Notices) -> ItemRecord:
    """Ask for (or stop asking for) the notices of an item on the customer's default list."""
    return await change_item(shelf, user_id, await _default_id(shelf, user_id), product_id, notices)


async def remove_from_default(shelf: Shelf, user_id: UUID, product_id: UUID) -> None:
    """Take a product off the customer's default list."""
    await remove_item(shelf, user_id, await _default_id(shelf, user_id), product_id)


# Lists


async def create_list(shelf: Shelf, user_id: UUID, name: str) -> WishlistRecord:
    """Make a named list, at most MAX_WISHLISTS with the default one; the default list's
    row lock keeps two requests from passing the cap together."""
    async with shelf.db.transaction() as conn:
        await _default(conn, user_id, lock=True)
        if await q.count_lists(conn, user_id) >= MAX_WISHLISTS:
            raise TooManyWishlists(f"at most {MAX_WISHLISTS} lists")
        return _record(await q.insert_list(conn, user_id, name))


async def rename_list(shelf: Shelf, user_id: UUID, wishlist_id: UUID, name: str) -> WishlistRecord:
    """Rename one of the customer's lists, the default one included."""
    row = await q.rename_list(shelf.db, wishlist_id, user_id, name)
    if row is None:
        raise _not_found(wishlist_id)
    return _record(row)


async def delete_list(shelf: Shelf, user_id: UUID, wishlist_id: UUID) -> None:
    """Delete one of the customer's named lists with its items."""
    if await q.delete_list(shelf.db, wishlist_id, user_id):
        return
    if await q.fetch_list(shelf.db, wishlist_id, user_id) is None:
        raise _not_found(wishlist_id)
    raise DefaultWishlistKept("the default list cannot be deleted; empty it instead")


async def share_list(shelf: Shelf, user_id: UUID, wishlist_id: UUID) -> tuple[str, str]:
    """A new share link for the list, replacing any other: its token (only the hash is
    kept) and its URL."""
    token = secrets.token_urlsafe(32)
    if not await q.set_share_hash(shelf.db, wishlist_id, user_id, _token_hash(token)):
        raise _not_found(wishlist_id)
    return token, f"{shelf.public_url.rstrip('/')}/api/v1/wishlists/shared/{token}"


async def unshare_list(shelf: Shelf, user_id: UUID, wishlist_id: UUID) -> None:
    """Revoke the list's share link, if it has one."""
    if not await q.set_share_hash(shelf.db, wishlist_id, user_id, None):
        raise _not_found(wishlist_id)


# Guests


async def create_guest_list(shelf: Shelf) -> WishlistRecord:
    """A guest's list: whoever holds its id may use it until it has been idle for the cart's TTL."""
    return _record(await q.insert_guest_list(shelf.db, DEFAULT_WISHLIST_NAME, shelf.guest_ttl))


async def fold_guest_wishlist(db: Database, guest_id: UUID, user_id: UUID) -> int:
    """Move a guest's list into the customer's default list (up to its cap) and delete it;
    how many products were new to the default list. A list that is not a live guest's
    (spent by an earlier fold, expired, or a customer's) is not found."""
    async with db.transaction() as conn:
        if not await q.lock_guest_list(conn, guest_id):
            raise WishlistNotFound("no such guest wishlist")
        target = await _default(conn, user_id, lock=True)
        room = max(MAX_WISHLIST_ITEMS - await q.count_items(conn, target.id), 0)
        moved = await q.move_items(conn, guest_id, target.id, room)
        await q.delete_guest_list(conn, guest_id)
    return moved


async def exported_lists(db: Database, user_id: UUID) -> list[ExportedWishlistRecord]:
    """Every list of the customer with its items as kept (product ids, flags), for an export."""
    return [
        ExportedWishlistRecord(
            r["id"], r["name"], r["is_default"], r["shared"], r["created_at"], tuple(r["items"])
        )
        for r in await q.fetch_for_export(db, user_id)
    ]
