"""The checkout component's SQL for a customer's own data: their orders read whole for an
export, and made anonymous when they erase their account."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from ..platform.db import Executor

# The order with its lines, history, shipments and refunds, as `order_views.order_record` reads it.
_DOCUMENT = """
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
   FROM shipments s WHERE s.order_id = o.id) AS shipments,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'amount', r.amount, 'reason', r.reason, 'at', r.created_at) ORDER BY r.created_at, r.id), '[]')
   FROM refunds r WHERE r.order_id = o.id) AS refunds
FROM orders o WHERE o.user_id = $1
"""
_NEWEST = " ORDER BY o.created_at DESC, o.id DESC LIMIT $2"


async def fetch_orders_for_export(
    ex: Executor, user_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """A batch of the user's orders, whole, newest first, after a keyset position (one index
    range scan each, however deep: orders_user_idx)."""
    if after is None:
        return await ex.fetch(_DOCUMENT + _NEWEST, user_id, limit)
    return await ex.fetch(
        _DOCUMENT + " AND (o.created_at, o.id) < ($3, $4)" + _NEWEST, user_id, limit, after[0], after[1]
    )


async def fetch_open_cart_id(ex: Executor, user_id: UUID) -> UUID | None:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT id FROM carts WHERE user_id = $1 AND status = 'open' AND expires_at > now()", user_id
    )


async def fetch_order_ids(ex: Executor, user_id: UUID) -> list[UUID]:
    rows = await ex.fetch("SELECT id FROM orders WHERE user_id = $1 ORDER BY id", user_id)
    return [r["id"] for r in rows]


# The area of a postal code: its letters and digits upper-cased, the first three (the first
# two of a code of four or fewer): SW1Y 4JH → SW1, 94107 → 941, 2000 → 20, 101 → 10.
_AREA = """(SELECT nullif(CASE WHEN length(c) > 4 THEN left(c, 3) ELSE left(c, 2) END, '')
  FROM (SELECT upper(regexp_replace(coalesce({a}->>'postal_code', ''), '[^[:alnum:]]', '', 'g')) AS c) p)"""


def _anonymous(a: str) -> str:
    """An address without the person: country, region and postal area kept, the rest null."""
    return (
        "jsonb_build_object('name', NULL, 'line1', NULL, 'line2', NULL, 'city', NULL, 'phone', NULL,"
        f" 'postal_code', NULL, 'region', {a}->'region', 'country', {a}->'country',"
        f" 'postal_area', {_AREA.format(a=a)})"
    )


ANONYMISE = f"""
WITH old AS (
  SELECT id, email, shipping_address AS s, billing_address AS b FROM orders
  WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
), done AS (
  UPDATE orders o SET email = $2, shipping_address = {_anonymous("old.s")},
         billing_address = {_anonymous("old.b")}, updated_at = now()
  FROM old WHERE o.id = old.id
)
SELECT email, s->>'name' AS ship_name, s->>'phone' AS ship_phone,
       b->>'name' AS bill_name, b->>'phone' AS bill_phone
FROM old
"""


async def anonymise(ex: Executor, order_ids: list[UUID], email: str) -> list[asyncpg.Record]:
    """Take the person out of these orders (their email becomes `email`); per order, who it
    named as it was."""
    return await ex.fetch(ANONYMISE, order_ids, email)


async def scrub_notes(ex: Executor, order_ids: list[UUID], pattern: str, erased: str) -> None:
    """Replace what matches `pattern` in these orders' history and event notes and refund reasons."""
    await ex.execute(
        "WITH h AS (UPDATE order_history SET note = regexp_replace(note, $2, $3, 'gi')"
        "           WHERE order_id = ANY($1::uuid[]) AND note ~* $2),"
        " e AS (UPDATE order_events SET note = regexp_replace(note, $2, $3, 'gi')"
        "       WHERE order_id = ANY($1::uuid[]) AND note ~* $2)"
        " UPDATE refunds SET reason = regexp_replace(reason, $2, $3, 'gi')"
        " WHERE order_id = ANY($1::uuid[]) AND reason ~* $2",
        order_ids,
        pattern,
        erased,
    )
