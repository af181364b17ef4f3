"""Carts: guest carts reached by their random id, user carts by their owner (or staff).

Prices, names and availability are read from the catalog every time a cart is shown; the
client only ever says which variant and how many.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from uuid import UUID

import asyncpg

from ..platform.db import Executor
from . import cart_queries
from .context import Checkout
from .errors import CartClosed, CartItemNotFound, CartNotFound, QuantityLimit, UnknownVariant
from .models import CartStatus
from .records import CartLineRecord, CartRecord, DroppedRecord, MergedCartRecord, Money


@dataclass(frozen=True)
class Caller:
    """Who asks: a signed-in user (maybe staff) or a guest (user_id None), maybe holding
    a guest order's secret."""

    user_id: UUID | None = None
    staff: bool = False
    order_token: str | None = None


STAFF = Caller(staff=True)


async def open_cart(co: Checkout, caller: Caller) -> CartRecord:
    """A new guest cart, or the signed-in caller's open cart (made if needed)."""
    cart_id = await cart_queries.insert_cart(co.db, caller.user_id, co.cart_ttl)
    return await show_cart(co.db, cart_id, caller, co.pricing.currency)


def may_see(cart: asyncpg.Record, caller: Caller) -> bool:
    return cart["user_id"] is None or cart["user_id"] == caller.user_id or caller.staff


def cart_record(rows: list[asyncpg.Record], currency: str) -> CartRecord:
    """The cart as the API shows it, from its rows (cart_queries.CART)."""
    items = []
    subtotal = count = 0
    for line in rows:
        if line["id"] is None:
            continue  # an empty cart's one row
        total = line["unit_price"] * line["quantity"]
        if line["for_sale"]:
            subtotal += total
            count += line["quantity"]
        items.append(
            CartLineRecord(
                id=line["id"],
                variant_id=line["variant_id"],
                product_id=line["product_id"],
                sku=line["sku"],
                name=cart_queries.line_name(line),
                quantity=line["quantity"],
                unit_price=Money(line["unit_price"], line["currency"]),
                line_total=Money(total, line["currency"]),
                available=line["for_sale"] and line["stock_available"] >= line["quantity"],
                stock_available=max(0, line["stock_available"]) if line["for_sale"] else 0,
            )
        )
    return CartRecord(
        id=rows[0]["cart_id"],
        items=tuple(items),
        subtotal=Money(subtotal, currency),
        total=Money(subtotal, currency),
        currency=currency,
        item_count=count,
        expires_at=rows[0]["expires_at"],
    )


async def show_cart(ex: Executor, cart_id: UUID, caller: Caller, currency: str) -> CartRecord:
    """The cart, priced from the catalog now; 404 for anyone it is not for."""
    rows = await cart_queries.fetch_cart(ex, cart_id)
    if not rows or not may_see(rows[0], caller):
        raise CartNotFound("no such cart")
    return cart_record(rows, currency)


async def _why_unchanged(ex: Executor, cart_id: UUID, caller: Caller) -> None:
    """Raise why a change found no open cart: there is none for the caller (404), or it is closed."""
    cart = await cart_queries.fetch_cart_head(ex, cart_id)
    if cart is None or not may_see(cart, caller):
        raise CartNotFound("no such cart")
    raise CartClosed("this cart has been checked out; start a new one")


async def add_item(
    co: Checkout, cart_id: UUID, caller: Caller, variant_id: UUID, quantity: int
) -> CartRecord:
    """Put `quantity` of a variant in the cart, on top of what is there (at most 99)."""
    async with co.db.connection() as conn:
        outcome = await cart_queries.add_item(
            conn, cart_id, variant_id, quantity, co.cart_ttl, caller.user_id, caller.staff
        )
        if not outcome["cart"]:
            await _why_unchanged(conn, cart_id, caller)
        if not outcome["for_sale"]:
            raise UnknownVariant(
                "no such variant is for sale",
                errors=[{"field": "variant_id", "message": "not a variant for sale"}],
            )
        if not outcome["added"]:
            raise QuantityLimit(
                "at most 99 of a variant fit in a cart",
                errors=[{"field": "quantity", "message": "the cart would hold more than 99"}],
            )
        return await show_cart(conn, cart_id, caller, co.pricing.currency)


async def set_quantity(
    co: Checkout, cart_id: UUID, caller: Caller, item_id: UUID, quantity: int
) -> CartRecord:
    """Set an item's quantity; 0 removes it."""
    async with co.db.connection() as conn:
        outcome = await cart_queries.set_item_quantity(
            conn, cart_id, item_id, quantity, co.cart_ttl, caller.user_id, caller.staff
        )
        if not outcome["cart"]:
            await _why_unchanged(conn, cart_id, caller)
        if not outcome["done"]:
            raise CartItemNotFound("no such item in this cart")
        return await show_cart(conn, cart_id, caller, co.pricing.currency)


async def merge_guest_cart(co: Checkout, guest_cart_id: UUID, user_id: UUID) -> MergedCartRecord:
    """Fold a guest cart into the user's cart (quantities summed, at most 99); lines no
    longer for sale are dropped and reported. The cart, with `dropped` listing them."""
    target = await cart_queries.insert_cart(co.db, user_id, co.cart_ttl)
    async with co.db.transaction() as conn:
        rows = await cart_queries.lock_cart_for_checkout(conn, guest_cart_id)  # locks it as checkout would
        if not rows or rows[0]["user_id"] is not None:
            raise CartNotFound("no such guest cart")
        if rows[0]["status"] != CartStatus.OPEN:
            raise CartClosed("this cart has been checked out or merged already")
        gone = [line for line in rows if line["id"] is not None and not line["for_sale"]]
        await cart_queries.delete_items(conn, guest_cart_id, [line["id"] for line in gone])
        await cart_queries.merge_items(conn, guest_cart_id, target)
        cart = await show_cart(conn, target, Caller(user_id), co.pricing.currency)
    dropped = tuple(DroppedRecord(line["sku"], cart_queries.line_name(line)) for line in gone)
    return MergedCartRecord(**{f.name: getattr(cart, f.name) for f in fields(cart)}, dropped=dropped)
