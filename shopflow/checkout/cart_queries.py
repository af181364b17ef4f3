"""The checkout component's SQL for carts."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from ..platform.db import Executor


async def insert_cart(ex: Executor, user_id: UUID | None, ttl: int) -> UUID:
    """A new cart; for a user who has an open one already, that one (kept alive)."""
    if user_id is None:
        return await ex.fetchval(  # type: ignore[no-any-return]
            "INSERT INTO carts (expires_at) VALUES (now() + make_interval(secs => $1)) RETURNING id", ttl
        )
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO carts (user_id, expires_at) VALUES ($1, now() + make_interval(secs => $2))"
        " ON CONFLICT (user_id) WHERE status = 'open'"
        " DO UPDATE SET expires_at = EXCLUDED.expires_at, updated_at = now() RETURNING id",
        user_id,
        ttl,
    )


async def fetch_cart_head(ex: Executor, cart_id: UUID) -> asyncpg.Record | None:
    """The cart row while it lives."""
    return await ex.fetchrow(
        "SELECT id, user_id, status, expires_at FROM carts WHERE id = $1 AND expires_at > now()", cart_id
    )


# A cart's lines, priced and checked against the catalog now.
LINE_COLUMNS = """i.id, i.variant_id, v.product_id, v.sku, p.name AS product_name, v.name AS variant_name,
  i.quantity, v.price_amount AS unit_price, v.currency, p.status = 'active' AS for_sale, i.created_at"""
LINE_TABLES = "cart_items i JOIN variants v ON v.id = i.variant_id JOIN products p ON p.id = v.product_id"

# The cart and its lines in one round trip: a row per line, or one row without a line for an
# empty cart; no row when there is no such (live) cart.
CART = f"""
SELECT c.id AS cart_id, c.user_id, c.status, c.expires_at, {LINE_COLUMNS},
       coalesce(s.on_hand - s.reserved, 0) AS stock_available
FROM carts c
LEFT JOIN ({LINE_TABLES}) ON i.cart_id = c.id
LEFT JOIN stock s ON s.sku = v.sku
WHERE c.id = $1 AND c.expires_at > now()
ORDER BY i.created_at, i.id
"""


async def fetch_cart(ex: Executor, cart_id: UUID) -> list[asyncpg.Record]:
    return await ex.fetch(CART, cart_id)


# Checking a cart out: the cart row locked, its lines, and their SKUs' stock rows locked in
# key order (so concurrent checkouts cannot deadlock) with what each has available.
CART_FOR_CHECKOUT = f"""
WITH cart AS (
  SELECT id, user_id, status FROM carts WHERE id = $1 AND expires_at > now() FOR UPDATE
), lines AS (
  SELECT {LINE_COLUMNS} FROM {LINE_TABLES} JOIN cart ON cart.id = i.cart_id
), locked AS (
  SELECT sku, on_hand - reserved AS available FROM stock
  WHERE sku IN (SELECT sku FROM lines) ORDER BY sku FOR UPDATE
)
SELECT c.id AS cart_id, c.user_id, c.status, l.*, k.available
FROM cart c LEFT JOIN lines l ON true LEFT JOIN locked k ON k.sku = l.sku
ORDER BY l.created_at, l.id
"""


async def lock_cart_for_checkout(ex: Executor, cart_id: UUID) -> list[asyncpg.Record]:
    return await ex.fetch(CART_FOR_CHECKOUT, cart_id)


# Every cart change touches the cart, and only an open cart the caller may change.
_OPEN_CART = """
cart AS (
  UPDATE carts SET updated_at = now(), expires_at = now() + make_interval(secs => $4)
  WHERE id = $1 AND status = 'open' AND expires_at > now() AND (user_id IS NULL OR user_id = $5 OR $6)
  RETURNING id
)"""


async def add_item(
    ex: Executor, cart_id: UUID, variant_id: UUID, quantity: int, ttl: int, user_id: UUID | None, staff: bool
) -> asyncpg.Record:
    """Add to an open cart, summing with a line of the same variant up to 99, in one
    statement: whether the cart was there to change, the line was added, the variant is for sale."""
    row = await ex.fetchrow(
        f"WITH {_OPEN_CART}, added AS ("
        " INSERT INTO cart_items (cart_id, variant_id, quantity)"
        " SELECT cart.id, v.id, $3 FROM cart, variants v JOIN products p ON p.id = v.product_id"
        "  WHERE v.id = $2 AND p.status = 'active'"
        " ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity"
        "  WHERE cart_items.quantity + EXCLUDED.quantity <= 99"
        " RETURNING 1)"
        " SELECT EXISTS (SELECT 1 FROM cart) AS cart, EXISTS (SELECT 1 FROM added) AS added,"
        " EXISTS (SELECT 1 FROM variants v JOIN products p ON p.id = v.product_id"
        "  WHERE v.id = $2 AND p.status = 'active') AS for_sale",
        cart_id,
        variant_id,
        quantity,
        ttl,
        user_id,
        staff,
    )
    assert row is not None
    return row


async def set_item_quantity(
    ex: Executor, cart_id: UUID, item_id: UUID, quantity: int, ttl: int, user_id: UUID | None, staff: bool
) -> asyncpg.Record:
    """Set a line's quantity (0 deletes it) in an open cart: whether the cart was there to
    change, and whether the line was."""
    row = await ex.fetchrow(
        f"WITH {_OPEN_CART},"
        " changed AS (UPDATE cart_items SET quantity = $3"
        "  WHERE cart_id IN (SELECT id FROM cart) AND id = $2 AND $3 > 0 RETURNING 1),"
        " removed AS (DELETE FROM cart_items"
        "  WHERE cart_id IN (SELECT id FROM cart) AND id = $2 AND $3 = 0 RETURNING 1)"
        " SELECT EXISTS (SELECT 1 FROM cart) AS cart,"
        " EXISTS (SELECT 1 FROM changed) OR EXISTS (SELECT 1 FROM removed) AS done",
        cart_id,
        item_id,
        quantity,
        ttl,
        user_id,
        staff,
    )
    assert row is not None
    return row


async def merge_items(ex: Executor, source: UUID, target: UUID) -> None:
    """Move the lines of `source` into `target`, summing quantities up to 99."""
    await ex.execute(
        "INSERT INTO cart_items (cart_id, variant_id, quantity, created_at)"
        " SELECT $2, variant_id, quantity, created_at FROM cart_items WHERE cart_id = $1"
        " ON CONFLICT (cart_id, variant_id)"
        " DO UPDATE SET quantity = least(99, cart_items.quantity + EXCLUDED.quantity)",
        source,
        target,
    )
    await ex.execute("DELETE FROM cart_items WHERE cart_id = $1", source)
    await ex.execute("UPDATE carts SET status = 'merged', updated_at = now() WHERE id = $1", source)


async def delete_items(ex: Executor, cart_id: UUID, item_ids: Sequence[UUID]) -> None:
    await ex.execute("DELETE FROM cart_items WHERE cart_id = $1 AND id = ANY($2::uuid[])", cart_id, item_ids)


async def delete_expired_carts(ex: Executor) -> int:
    done = await ex.execute("DELETE FROM carts WHERE expires_at < now() AND status <> 'checked_out'")
    return int(done.split()[-1])


def line_name(line: asyncpg.Record) -> str:
    product, variant = line["product_name"], line["variant_name"]
    return product if variant in ("", "Default", product) else f"{product} - {variant}"
