"""The checkout component's SQL for a customer's own orders: their pages, the summary row
that the trigger of migration 0012 keeps, and guest orders joining an account.

Every read here is one statement whatever the customer's history: pages walk the index
orders_user_idx (user_id, created_at DESC, id DESC) from a keyset position, and a page's
lines come with it, as the order keeps them in brief (migration 0014). PostgreSQL renders
each order's JSON document.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from ..platform.db import Executor

# Each order as the history shows it (users.models.CustomerOrder), rendered by PostgreSQL: the
# web process passes the text on, rather than decoding a page into objects and encoding it again.
_MONEY = "json_build_object('amount', o.{0}, 'currency', o.currency)"
_DOCUMENT = (
    "json_build_object('id', o.id, 'number', o.number, 'status', o.status, 'totals', json_build_object("
    + ", ".join(f"'{t}', {_MONEY.format(t)}" for t in ("subtotal", "shipping", "tax", "total", "refunded"))
    + "), 'placed_at', o.created_at, 'lines', o.lines_brief)::text"
)
_PAGE = f"""
SELECT o.id, o.created_at, {_DOCUMENT} AS document
  FROM orders o
 WHERE o.user_id = $1 {{after}}
 ORDER BY o.created_at DESC, o.id DESC
 LIMIT $2
"""
# Two texts rather than one with `$3 IS NULL OR ...`: a generic plan of that would filter
# rather than seek, and a deep page of a long history would read all the pages before it.
FIRST_PAGE = _PAGE.format(after="")
NEXT_PAGE = _PAGE.format(after="AND (o.created_at, o.id) < ($3, $4)")

# The summary rows and the most recent orders, in one round trip; a customer without orders
# still gets one row (its order columns NULL).
OVERVIEW = f"""
SELECT s.summaries, p.*
  FROM (SELECT json_agg(json_build_object(
                   'currency', currency, 'orders_count', orders_count,
                   'open_orders_count', open_orders_count, 'lifetime_spend', lifetime_spend))
                 AS summaries
          FROM customer_summaries WHERE user_id = $1) s
  LEFT JOIN LATERAL ({FIRST_PAGE}) p ON true
"""


async def fetch_customer_orders(
    ex: Executor, user_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` of the customer's orders, newest first, after a keyset position."""
    if after is None:
        return await ex.fetch(FIRST_PAGE, user_id, limit)
    return await ex.fetch(NEXT_PAGE, user_id, limit, *after)


async def fetch_overview(ex: Executor, user_id: UUID, recent: int) -> list[asyncpg.Record]:
    """The customer's summary rows (as `summaries`, on every row) and `recent` latest orders."""
    return await ex.fetch(OVERVIEW, user_id, recent)


async def adopt_guest_orders(ex: Executor, user_id: UUID, email: str) -> int:
    """Give the guest orders placed with `email` to the account; how many."""
    done = await ex.execute(
        "UPDATE orders SET user_id = $1, updated_at = now()"
        " WHERE user_id IS NULL AND lower(email) = lower($2)",
        user_id,
        email,
    )
    return int(done.split()[-1])


async def lock_summaries(ex: Executor, order_ids: list[UUID]) -> None:
    """Lock the summary rows of these orders' customers in key order, before a statement
    that changes several of them (the trigger would lock them in whatever order it meets
    them). Stock rows are locked before summary rows, everywhere."""
    await ex.execute(
        "SELECT 1 FROM customer_summaries WHERE user_id IN"
        " (SELECT user_id FROM orders WHERE id = ANY($1::uuid[]) AND user_id IS NOT NULL)"
        " ORDER BY user_id, currency FOR UPDATE",
        order_ids,
    )
