"""Carts: guest carts reached by their random id, user carts by their owner (or staff).

Prices, names and availability are read from the catalog every time a cart is shown; the
client only ever says which variant and how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Database, Executor
from . import queries
from .errors import CartClosed, CartItemNotFound, CartNotFound, QuantityLimit, UnknownVariant


@dataclass(frozen=True)
class Caller:
    """Who asks: a signed-in user (maybe staff) or a guest (user_id None)."""

    user_id: UUID | None = None
    staff: bool = False


GUEST = Caller()


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


async def open_cart(db: Database, caller: Caller, ttl: int) -> UUID:
    """A new guest cart, or the signed-in caller's open cart (made if needed)."""
    return await queries.insert_cart(db, caller.user_id, ttl)


async def find_cart(ex: Executor, cart_id: UUID, caller: Caller, lock: bool = False) -> asyncpg.Record:
    """The cart if the caller may see it; anyone else gets 404, as if it did not exist."""
    cart = await queries.fetch_cart_head(ex, cart_id, lock)
    if cart is None or not (cart["user_id"] is None or cart["user_id"] == caller.user_id or caller.staff):
        raise CartNotFound("no such cart")
    return cart


async def _open_for_change(conn: asyncpg.Connection, cart_id: UUID, caller: Caller) -> asyncpg.Record:
    cart = await find_cart(conn, cart_id, caller, lock=True)
    if cart["status"] != "open":
        raise CartClosed("this cart has been checked out; start a new one")
    return cart


def cart_document(cart: asyncpg.Record, lines: list[asyncpg.Record], currency: str) -> dict[str, Any]:
    items = []
    subtotal = count = 0
    for line in lines:
        total = line["unit_price"] * line["quantity"]
        if line["for_sale"]:
            subtotal += total
            count += line["quantity"]
        items.append(
            {
                "id": line["id"],
                "variant_id": line["variant_id"],
                "product_id": line["product_id"],
                "sku": line["sku"],
                "name": queries.line_name(line),
                "quantity": line["quantity"],
                "unit_price": money(line["unit_price"], line["currency"]),
                "line_total": money(total, line["currency"]),
                "available": line["for_sale"] and line["stock_available"] >= line["quantity"],
                "stock_available": max(0, line["stock_available"]) if line["for_sale"] else 0,
            }
        )
    return {
        "id": cart["id"],
        "items": items,
        "subtotal": money(subtotal, currency),
        "total": money(subtotal, currency),
        "currency": currency,
        "item_count": count,
        "expires_at": cart["expires_at"],
    }


async def show_cart(db: Database, cart_id: UUID, caller: Caller, currency: str) -> dict[str, Any]:
    """The cart, priced from the catalog now."""
    async with db.connection() as conn:
        cart = await find_cart(conn, cart_id, caller)
        return cart_document(cart, await queries.fetch_cart_lines(conn, cart_id), currency)


async def add_item(
    db: Database, cart_id: UUID, caller: Caller, variant_id: UUID, quantity: int, ttl: int, currency: str
) -> dict[str, Any]:
    """Put `quantity` of a variant in the cart, on top of what is there (at most 99)."""
    async with db.transaction() as conn:
        await _open_for_change(conn, cart_id, caller)
        outcome = await queries.add_item(conn, cart_id, variant_id, quantity)
        if outcome == "unknown":
            raise UnknownVariant(
                "no such variant is for sale",
                errors=[{"field": "variant_id", "message": "not a variant for sale"}],
            )
        if outcome == "limit":
            raise QuantityLimit(
                "at most 99 of a variant fit in a cart",
                errors=[{"field": "quantity", "message": "the cart would hold more than 99"}],
            )
        await queries.touch_cart(conn, cart_id, ttl)
        return await _document(conn, cart_id, currency)


async def set_quantity(
    db: Database, cart_id: UUID, caller: Caller, item_id: UUID, quantity: int, ttl: int, currency: str
) -> dict[str, Any]:
    """Set an item's quantity; 0 removes it."""
    async with db.transaction() as conn:
        await _open_for_change(conn, cart_id, caller)
        if not await queries.set_item_quantity(conn, cart_id, item_id, quantity):
            raise CartItemNotFound("no such item in this cart")
        await queries.touch_cart(conn, cart_id, ttl)
        return await _document(conn, cart_id, currency)


async def remove_item(
    db: Database, cart_id: UUID, caller: Caller, item_id: UUID, ttl: int, currency: str
) -> dict[str, Any]:
    return await set_quantity(db, cart_id, caller, item_id, 0, ttl, currency)


async def _document(conn: asyncpg.Connection, cart_id: UUID, currency: str) -> dict[str, Any]:
    cart = await queries.fetch_cart_head(conn, cart_id)
    assert cart is not None
    return cart_document(cart, await queries.fetch_cart_lines(conn, cart_id), currency)


async def merge_guest_cart(
    db: Database, guest_cart_id: UUID, user_id: UUID, ttl: int, currency: str
) -> dict[str, Any]:
    """Fold a guest cart into the user's cart (quantities summed, at most 99); lines no
    longer for sale are dropped and reported. The cart, with `dropped` listing them."""
    target = await queries.insert_cart(db, user_id, ttl)
    async with db.transaction() as conn:
        guest = await _open_for_change(conn, guest_cart_id, GUEST)
        if guest["user_id"] is not None:
            raise CartNotFound("no such guest cart")
        lines = await queries.fetch_cart_lines(conn, guest_cart_id)
        gone = [line for line in lines if not line["for_sale"]]
        await queries.delete_items(conn, guest_cart_id, [line["id"] for line in gone])
        await queries.merge_items(conn, guest_cart_id, target)
        document = await _document(conn, target, currency)
    document["dropped"] = [{"sku": line["sku"], "name": queries.line_name(line)} for line in gone]
    return document
