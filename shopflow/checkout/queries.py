"""The checkout component's SQL for stock, orders and payments (carts: cart_queries.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Executor
from . import cart_queries
from .models import OrderStatus, PaymentStatus, Reservation

# Stock


async def _lock_order_stock(ex: Executor, order_ids: list[UUID]) -> None:
    """Lock the stock rows of orders' reservations in key order, as checkout does, before
    changing them: rows locked in any other order could deadlock with a checkout."""
    await ex.execute(
        "SELECT 1 FROM stock WHERE sku IN (SELECT sku FROM reservations WHERE order_id = ANY($1::uuid[]))"
        " ORDER BY sku FOR UPDATE",
        order_ids,
    )


# How stock changes when an order's reservations move from one state to another.
_HELD, _COMMITTED, _RELEASED = Reservation.HELD, Reservation.COMMITTED, Reservation.RELEASED
_STOCK_CHANGES = {
    (_HELD, _COMMITTED): "on_hand = s.on_hand - c.quantity, reserved = s.reserved - c.quantity",  # paid
    (_HELD, _RELEASED): "reserved = s.reserved - c.quantity",  # cancelled or expired unpaid
    (_COMMITTED, _RELEASED): "on_hand = s.on_hand + c.quantity",  # cancelled after payment: restocked
    (_RELEASED, _COMMITTED): "on_hand = s.on_hand - c.quantity",  # paid late, the stock still there
}


async def move_reservations(
    ex: Executor, order_id: UUID, from_state: Reservation, to_state: Reservation
) -> list[asyncpg.Record]:
    """Move an order's reservations in `from_state` to `to_state`, changing the stock to match;
    per SKU moved, its product, quantity and units now available (none the second time, so a
    move is idempotent)."""
    return await move_many_reservations(ex, [order_id], from_state, to_state)


async def move_many_reservations(
    ex: Executor, order_ids: list[UUID], from_state: Reservation, to_state: Reservation
) -> list[asyncpg.Record]:
    """`move_reservations` for several orders at once: one row per SKU, their quantities summed."""
    await _lock_order_stock(ex, order_ids)
    return await ex.fetch(
        "WITH moved AS (UPDATE reservations SET state = $3 WHERE order_id = ANY($1::uuid[]) AND state = $2"
        "               RETURNING sku, quantity),"
        " c AS (SELECT sku, sum(quantity) AS quantity FROM moved GROUP BY sku),"
        f" s AS (UPDATE stock s SET {_STOCK_CHANGES[from_state, to_state]}, updated_at = now()"
        "       FROM c WHERE s.sku = c.sku RETURNING s.sku, c.quantity, s.on_hand - s.reserved AS available)"
        " SELECT v.product_id, s.quantity, s.available FROM s JOIN variants v ON v.sku = s.sku",
        order_ids,
        from_state,
        to_state,
    )


async def take_released(ex: Executor, order_id: UUID) -> list[asyncpg.Record]:
    """Sell an expired order's released stock after all, if it is all still there; what
    moved (as `move_reservations` says), or nothing."""
    rows = await ex.fetch(
        "SELECT r.sku, r.quantity, s.on_hand - s.reserved AS available FROM reservations r"
        " JOIN stock s ON s.sku = r.sku WHERE r.order_id = $1 AND r.state = 'released'"
        " ORDER BY r.sku FOR UPDATE OF s",
        order_id,
    )
    if not rows or any(r["available"] < r["quantity"] for r in rows):
        return []
    return await move_reservations(ex, order_id, _RELEASED, _COMMITTED)


async def lock_expired_orders(ex: Executor, limit: int) -> list[UUID]:
    """Up to `limit` unpaid orders whose reservation expired, locked; those another
    transaction holds (being paid, or expired by another worker) are skipped."""
    rows = await ex.fetch(
        "SELECT id FROM orders WHERE status = $1"
        " AND id IN (SELECT order_id FROM reservations WHERE state = 'held' AND expires_at < now())"
        " LIMIT $2 FOR UPDATE SKIP LOCKED",
        OrderStatus.PENDING_PAYMENT,
        limit,
    )
    return [r["id"] for r in rows]


async def cancel_orders(ex: Executor, order_ids: list[UUID], note: str) -> int:
    """Cancel these unpaid orders, with their history rows and events; how many."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "WITH o AS (UPDATE orders SET status = $3, updated_at = now()"
        "           WHERE id = ANY($1::uuid[]) AND status = $2 RETURNING id),"
        " h AS (INSERT INTO order_history (order_id, status, note) SELECT id, $3, $4 FROM o),"
        " e AS (INSERT INTO order_events (type, order_id, note) SELECT 'order.' || $3, id, $4 FROM o)"
        " SELECT count(*) FROM o",
        order_ids,
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.CANCELLED,
        note,
    )


# Orders


# The order, its lines, its stock held, its first history entry and the cart closed: one
# statement. On an order number clash nothing happens and no row comes back.
PLACE_ORDER = """
WITH o AS (
  INSERT INTO orders (number, user_id, cart_id, email, currency, subtotal, shipping, tax, total,
                      shipping_address, billing_address, payment_provider, id, access_hash, lines_brief)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $22, $23,
          (SELECT jsonb_agg(jsonb_build_object('name', nm, 'sku', s, 'quantity', q) ORDER BY n)
             FROM unnest($13::int[], $15::text[], $16::text[], $18::int[]) AS x(n, s, nm, q)))
  ON CONFLICT (number) DO NOTHING RETURNING *
), lines AS (
  INSERT INTO order_lines (order_id, line_no, variant_id, sku, name, unit_price, quantity, line_total)
  SELECT o.id, x.n, x.v, x.s, x.nm, x.p, x.q, x.p * x.q
  FROM o, unnest($13::int[], $14::uuid[], $15::text[], $16::text[], $17::bigint[], $18::int[])
    AS x(n, v, s, nm, p, q)
), wanted AS (
  SELECT * FROM unnest($19::text[], $20::int[]) AS w(sku, n)
), held AS (
  INSERT INTO reservations (order_id, sku, quantity, expires_at)
  SELECT o.id, w.sku, w.n, o.created_at + make_interval(secs => $21) FROM o, wanted w
), stock_held AS (
  UPDATE stock SET reserved = stock.reserved + w.n, updated_at = now()
  FROM wanted w WHERE stock.sku = w.sku AND EXISTS (SELECT 1 FROM o)
), history AS (
  INSERT INTO order_history (order_id, status, note, at)
  SELECT o.id, 'pending_payment', 'order placed', o.created_at FROM o
), event AS (
  INSERT INTO order_events (type, order_id, note) SELECT 'order.placed', o.id, o.number FROM o
), closed AS (
  UPDATE carts SET status = 'checked_out', updated_at = now() WHERE id = $3 AND EXISTS (SELECT 1 FROM o)
)
SELECT * FROM o
"""


async def place_order(
    ex: Executor,
    number: str,
    values: dict[str, Any],
    lines: Sequence[asyncpg.Record],
    wanted: dict[str, int],
    ttl: int,
) -> asyncpg.Record | None:
    """Write the order with everything that comes with it; None on a number clash."""
    return await ex.fetchrow(
        PLACE_ORDER,
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
        list(range(1, len(lines) + 1)),
        [line["variant_id"] for line in lines],
        [line["sku"] for line in lines],
        [cart_queries.line_name(line) for line in lines],
        [line["unit_price"] for line in lines],
        [line["quantity"] for line in lines],
        list(wanted),
        list(wanted.values()),
        ttl,
        values["id"],
        values["access_hash"],
    )


async def add_history(ex: Executor, order_id: UUID, status: OrderStatus, note: str) -> None:
    await ex.execute(
        "INSERT INTO order_history (order_id, status, note) VALUES ($1, $2, $3)", order_id, status, note
    )


async def record_status(ex: Executor, order_id: UUID, status: OrderStatus, note: str) -> None:
    """The history row of a status change, and its event for other systems."""
    await ex.execute(
        "WITH h AS (INSERT INTO order_history (order_id, status, note) VALUES ($1, $2, $3))"
        " INSERT INTO order_events (type, order_id, note) VALUES ('order.' || $2, $1, $3)",
        order_id,
        status,
        note,
    )


async def fetch_events(ex: Executor, after: int, limit: int) -> list[asyncpg.Record]:
    """Events after id `after`, oldest first. Only those a few seconds old: ids are taken when
    a transaction writes, not when it commits, so a reader paging by id must wait for the
    slower transactions to land."""
    return await ex.fetch(
        "SELECT id, type, order_id, note, created_at FROM order_events"
        " WHERE id > $1 AND created_at < now() - interval '5 seconds' ORDER BY id LIMIT $2",
        after,
        limit,
    )


async def fetch_order_row(ex: Executor, order_id: UUID, lock: bool = False) -> asyncpg.Record | None:
    return await ex.fetchrow("SELECT * FROM orders WHERE id = $1" + (" FOR UPDATE" if lock else ""), order_id)


async def set_status(
    ex: Executor, order_id: UUID, status: OrderStatus, allowed_from: Collection[OrderStatus]
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
    ex: Executor,
    order_id: UUID,
    status: PaymentStatus,
    ref: str | None = None,
    refunded: int | None = None,
) -> None:
    await ex.execute(
        "UPDATE orders SET payment_status = $2, payment_ref = coalesce($3, payment_ref),"
        " refunded = coalesce($4, refunded), updated_at = now() WHERE id = $1",
        order_id,
        status,
        ref,
        refunded,
    )


async def fail_payment(ex: Executor, order_id: UUID, status: PaymentStatus) -> bool:
    """Note a failed or cancelled payment; the order stays open until it expires. Whether
    this is news (the payment was pending)."""
    done = await ex.execute(
        "UPDATE orders SET payment_status = $2, updated_at = now()"
        " WHERE id = $1 AND payment_status = 'pending'",
        order_id,
        status,
    )
    return done != "UPDATE 0"


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
) -> list[asyncpg.Record]:
    """Orders newest first, filtered, after a keyset position."""
    return await ex.fetch(
        "SELECT id, number, status, email, total, currency, created_at FROM orders"
        " WHERE ($1::text IS NULL OR status = $1)"
        " AND ($2::timestamptz IS NULL OR created_at >= $2)"
        " AND ($3::timestamptz IS NULL OR created_at < $3)"
        " AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT $6",
        status,
        created_from,
        created_to,
        after[0] if after else None,
        after[1] if after else None,
        limit,
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


async def reopen_cart(ex: Executor, order_id: UUID) -> None:
    """Let go of the order's cart and open it again."""
    await ex.execute(
        "WITH o AS (UPDATE orders n SET cart_id = NULL FROM orders o"
        "           WHERE n.id = $1 AND o.id = n.id RETURNING o.cart_id)"
        " UPDATE carts SET status = 'open', updated_at = now() WHERE id = (SELECT cart_id FROM o)",
        order_id,
    )


async def status_by_ref(ex: Executor, provider: str, ref: str) -> str | None:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT status FROM orders WHERE payment_provider = $1 AND payment_ref = $2", provider, ref
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
