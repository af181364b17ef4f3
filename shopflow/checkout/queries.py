"""The checkout component's SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Executor

# Carts


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


async def fetch_cart_head(ex: Executor, cart_id: UUID, lock: bool = False) -> asyncpg.Record | None:
    """The cart row while it lives; `lock` holds it until the transaction ends."""
    return await ex.fetchrow(
        "SELECT id, user_id, status, expires_at FROM carts WHERE id = $1 AND expires_at > now()"
        + (" FOR UPDATE" if lock else ""),
        cart_id,
    )


# Everything a cart shows, priced and checked against the catalog now.
CART_LINES = """
SELECT i.id, i.variant_id, v.product_id, v.sku, p.name AS product_name, v.name AS variant_name,
       i.quantity, v.price_amount AS unit_price, v.currency, p.status = 'active' AS for_sale,
       coalesce(s.on_hand - s.reserved, 0) AS stock_available
FROM cart_items i
JOIN variants v ON v.id = i.variant_id
JOIN products p ON p.id = v.product_id
LEFT JOIN stock s ON s.sku = v.sku
WHERE i.cart_id = $1
ORDER BY i.created_at, i.id
"""


async def fetch_cart_lines(ex: Executor, cart_id: UUID) -> list[asyncpg.Record]:
    return await ex.fetch(CART_LINES, cart_id)


async def touch_cart(ex: Executor, cart_id: UUID, ttl: int) -> None:
    await ex.execute(
        "UPDATE carts SET updated_at = now(), expires_at = now() + make_interval(secs => $2) WHERE id = $1",
        cart_id,
        ttl,
    )


async def add_item(ex: Executor, cart_id: UUID, variant_id: UUID, quantity: int) -> str:
    """Add to the cart (summing with a line of the same variant): "added", "unknown" for a
    variant not for sale, "limit" when the sum would pass 99."""
    added = await ex.fetchval(
        "INSERT INTO cart_items (cart_id, variant_id, quantity)"
        " SELECT $1, v.id, $3 FROM variants v JOIN products p ON p.id = v.product_id"
        "  WHERE v.id = $2 AND p.status = 'active'"
        " ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity"
        "  WHERE cart_items.quantity + EXCLUDED.quantity <= 99"
        " RETURNING true",
        cart_id,
        variant_id,
        quantity,
    )
    if added:
        return "added"
    exists = await ex.fetchval(
        "SELECT 1 FROM cart_items WHERE cart_id = $1 AND variant_id = $2", cart_id, variant_id
    )
    return "limit" if exists else "unknown"


async def set_item_quantity(ex: Executor, cart_id: UUID, item_id: UUID, quantity: int) -> bool:
    if quantity == 0:
        return await delete_item(ex, cart_id, item_id)
    done = await ex.execute(
        "UPDATE cart_items SET quantity = $3 WHERE cart_id = $1 AND id = $2", cart_id, item_id, quantity
    )
    return done != "UPDATE 0"


async def delete_item(ex: Executor, cart_id: UUID, item_id: UUID) -> bool:
    done = await ex.execute("DELETE FROM cart_items WHERE cart_id = $1 AND id = $2", cart_id, item_id)
    return done != "DELETE 0"


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


async def close_cart(ex: Executor, cart_id: UUID) -> None:
    await ex.execute("UPDATE carts SET status = 'checked_out', updated_at = now() WHERE id = $1", cart_id)


async def delete_expired_carts(ex: Executor) -> int:
    done = await ex.execute("DELETE FROM carts WHERE expires_at < now() AND status <> 'checked_out'")
    return int(done.split()[-1])


# Stock


async def lock_stock(ex: Executor, skus: Sequence[str]) -> dict[str, int]:
    """Lock the SKUs' stock rows in key order (so concurrent checkouts cannot deadlock); what
    each has available."""
    rows = await ex.fetch(
        "SELECT sku, on_hand - reserved AS available FROM stock WHERE sku = ANY($1::text[])"
        " ORDER BY sku FOR UPDATE",
        skus,
    )
    return {r["sku"]: r["available"] for r in rows}


async def reserve(ex: Executor, order_id: UUID, wanted: dict[str, int], ttl: int) -> None:
    """Hold stock for an order: stock.reserved up, one reservation row per SKU."""
    skus, counts = list(wanted), list(wanted.values())
    await ex.execute(
        "WITH w AS (SELECT * FROM unnest($2::text[], $3::int[]) AS w(sku, n)),"
        " r AS (INSERT INTO reservations (order_id, sku, quantity, expires_at)"
        "       SELECT $1, sku, n, now() + make_interval(secs => $4) FROM w)"
        " UPDATE stock s SET reserved = s.reserved + w.n, updated_at = now() FROM w WHERE s.sku = w.sku",
        order_id,
        skus,
        counts,
        ttl,
    )


async def commit_reservations(ex: Executor, order_id: UUID) -> int:
    """Turn an order's held stock into sold stock; rows it moved (0 the second time)."""
    done = await ex.execute(
        "WITH c AS (UPDATE reservations SET state = 'committed' WHERE order_id = $1 AND state = 'held'"
        "           RETURNING sku, quantity)"
        " UPDATE stock s SET on_hand = s.on_hand - c.quantity, reserved = s.reserved - c.quantity,"
        "  updated_at = now() FROM c WHERE s.sku = c.sku",
        order_id,
    )
    return int(done.split()[-1])


async def release_reservations(ex: Executor, order_id: UUID) -> int:
    """Give an order's held stock back; rows it moved (0 the second time)."""
    done = await ex.execute(
        "WITH c AS (UPDATE reservations SET state = 'released' WHERE order_id = $1 AND state = 'held'"
        "           RETURNING sku, quantity)"
        " UPDATE stock s SET reserved = s.reserved - c.quantity, updated_at = now()"
        " FROM c WHERE s.sku = c.sku",
        order_id,
    )
    return int(done.split()[-1])


async def restock(ex: Executor, order_id: UUID) -> int:
    """Put a paid order's sold stock back on hand (it was cancelled before shipping)."""
    done = await ex.execute(
        "WITH c AS (UPDATE reservations SET state = 'released' WHERE order_id = $1 AND state = 'committed'"
        "           RETURNING sku, quantity)"
        " UPDATE stock s SET on_hand = s.on_hand + c.quantity, updated_at = now() FROM c WHERE s.sku = c.sku",
        order_id,
    )
    return int(done.split()[-1])


async def take_released(ex: Executor, order_id: UUID) -> bool:
    """Sell an expired order's released stock after all, if it is all still there."""
    rows = await ex.fetch(
        "SELECT r.sku, r.quantity, s.on_hand - s.reserved AS available FROM reservations r"
        " JOIN stock s ON s.sku = r.sku WHERE r.order_id = $1 AND r.state = 'released'"
        " ORDER BY r.sku FOR UPDATE OF s",
        order_id,
    )
    if not rows or any(r["available"] < r["quantity"] for r in rows):
        return False
    await ex.execute(
        "WITH c AS (UPDATE reservations SET state = 'committed' WHERE order_id = $1 AND state = 'released'"
        "           RETURNING sku, quantity)"
        " UPDATE stock s SET on_hand = s.on_hand - c.quantity, updated_at = now() FROM c WHERE s.sku = c.sku",
        order_id,
    )
    return True


async def expired_orders(ex: Executor, limit: int = 500) -> list[UUID]:
    rows = await ex.fetch(
        "SELECT DISTINCT order_id FROM reservations WHERE state = 'held' AND expires_at < now() LIMIT $1",
        limit,
    )
    return [r["order_id"] for r in rows]


# Orders


async def insert_order(ex: Executor, number: str, values: dict[str, Any]) -> UUID:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO orders (number, user_id, cart_id, email, currency, subtotal, shipping, tax, total,"
        " shipping_address, billing_address, payment_provider)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        number,
        values["user_id"],
        values["cart_id"],
        values["email"],
        values["currency"],
        values["subtotal"],
        values["shipping"],
        values["tax"],
        values["total"],
        values["shipping_address"],
        values["billing_address"],
        values["payment_provider"],
    )


async def insert_lines(ex: Executor, order_id: UUID, lines: Sequence[asyncpg.Record]) -> None:
    await ex.execute(
        "INSERT INTO order_lines (order_id, line_no, variant_id, sku, name, unit_price, quantity, line_total)"
        " SELECT $1, n, v, s, nm, p, q, p * q"
        " FROM unnest($2::int[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::int[])"
        "  AS l(n, v, s, nm, p, q)",
        order_id,
        list(range(1, len(lines) + 1)),
        [line["variant_id"] for line in lines],
        [line["sku"] for line in lines],
        [line_name(line) for line in lines],
        [line["unit_price"] for line in lines],
        [line["quantity"] for line in lines],
    )


def line_name(line: asyncpg.Record) -> str:
    product, variant = line["product_name"], line["variant_name"]
    return product if variant in ("", "Default", product) else f"{product} - {variant}"


async def add_history(ex: Executor, order_id: UUID, status: str, note: str) -> None:
    await ex.execute(
        "INSERT INTO order_history (order_id, status, note) VALUES ($1, $2, $3)", order_id, status, note
    )


async def fetch_order_row(ex: Executor, order_id: UUID, lock: bool = False) -> asyncpg.Record | None:
    return await ex.fetchrow("SELECT * FROM orders WHERE id = $1" + (" FOR UPDATE" if lock else ""), order_id)


async def set_status(
    ex: Executor, order_id: UUID, status: str, allowed_from: Collection[str]
) -> asyncpg.Record | None:
    """Move the order to `status` if it is in one of `allowed_from`; the row, else None."""
    return await ex.fetchrow(
        "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::text[])"
        " RETURNING *",
        order_id,
        status,
        list(allowed_from),
    )


async def set_payment(
    ex: Executor, order_id: UUID, status: str, ref: str | None = None, refunded: int | None = None
) -> None:
    await ex.execute(
        "UPDATE orders SET payment_status = $2, payment_ref = coalesce($3, payment_ref),"
        " refunded = coalesce($4, refunded), updated_at = now() WHERE id = $1",
        order_id,
        status,
        ref,
        refunded,
    )


async def insert_shipment(ex: Executor, order_id: UUID, carrier: str, tracking_number: str) -> None:
    await ex.execute(
        "INSERT INTO shipments (order_id, carrier, tracking_number) VALUES ($1, $2, $3)",
        order_id,
        carrier,
        tracking_number,
    )


async def insert_refund(ex: Executor, order_id: UUID, amount: int, reason: str, ref: str | None) -> None:
    await ex.execute(
        "INSERT INTO refunds (order_id, amount, reason, provider_ref) VALUES ($1, $2, $3, $4)",
        order_id,
        amount,
        reason,
        ref,
    )


# The whole order as the API shows it, in one round trip.
ORDER_DOCUMENT = """
SELECT o.*,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'variant_id', l.variant_id, 'sku', l.sku, 'name', l.name, 'unit_price', l.unit_price,
      'quantity', l.quantity, 'line_total', l.line_total) ORDER BY l.line_no), '[]')
   FROM order_lines l WHERE l.order_id = o.id) AS items,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('status', h.status, 'at', h.at, 'note', h.note)
      ORDER BY h.id), '[]')
   FROM order_history h WHERE h.order_id = o.id) AS history,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'carrier', s.carrier, 'tracking_number', s.tracking_number, 'at', s.at) ORDER BY s.at), '[]')
   FROM shipments s WHERE s.order_id = o.id) AS shipments
FROM orders o WHERE o.id = $1
"""


async def fetch_order_document(ex: Executor, order_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow(ORDER_DOCUMENT, order_id)


async def fetch_orders(
    ex: Executor,
    status: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
    user_id: UUID | None = None,
) -> list[asyncpg.Record]:
    """Orders newest first, filtered, after a keyset position."""
    return await ex.fetch(
        "SELECT id, number, status, email, total, currency, created_at FROM orders"
        " WHERE ($1::text IS NULL OR status = $1)"
        " AND ($2::timestamptz IS NULL OR created_at >= $2)"
        " AND ($3::timestamptz IS NULL OR created_at < $3)"
        " AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))"
        " AND ($7::uuid IS NULL OR user_id = $7)"
        " ORDER BY created_at DESC, id DESC LIMIT $6",
        status,
        created_from,
        created_to,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        user_id,
    )


async def record_event(ex: Executor, provider: str, event_id: str, event_type: str) -> bool:
    """Note a webhook event as applied; False when it was already."""
    done = await ex.execute(
        "INSERT INTO payment_events (provider, event_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        provider,
        event_id,
        event_type,
    )
    return done == "INSERT 0 1"


async def order_by_ref(ex: Executor, provider: str, ref: str) -> UUID | None:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT id FROM orders WHERE payment_provider = $1 AND payment_ref = $2", provider, ref
    )


async def unsettled_orders(ex: Executor, minutes: int, limit: int = 200) -> list[asyncpg.Record]:
    """Orders of the last two days whose money nobody has seen move for `minutes`: unpaid,
    or cancelled before any payment arrived. The reconcile job asks their provider."""
    return await ex.fetch(
        "SELECT id, payment_provider, payment_ref FROM orders"
        " WHERE status IN ('pending_payment', 'cancelled') AND payment_status IN ('pending', 'cancelled')"
        " AND payment_ref IS NOT NULL AND created_at > now() - interval '2 days'"
        " AND updated_at < now() - make_interval(mins => $1)"
        " ORDER BY created_at LIMIT $2",
        minutes,
        limit,
    )
