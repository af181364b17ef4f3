"""A customer's own orders: their history page by page, the summary the account dashboard
shows, and guest orders that join an account once its email is verified.

The summary (orders, open orders, money spent) is a row per customer and currency that a
trigger on orders keeps in the transaction of every change (migration 0012, which also
says what "open" means); nothing here ever counts or sums over the orders table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from ..platform.db import Executor
from ..platform.pagination import decode_cursor, encode_cursor
from . import history_queries
from .records import Money


@dataclass(frozen=True, slots=True)
class CustomerOrderPage:
    items: tuple[orjson.Fragment, ...]  # each order's JSON document (users.models.CustomerOrder)
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CustomerOverview:
    """What the dashboard shows of a customer's orders."""

    recent_orders: tuple[orjson.Fragment, ...]  # as CustomerOrderPage's items
    orders_count: int
    open_orders_count: int
    lifetime_spend: Money  # in the shop's currency: paid, less what was refunded


async def customer_orders(ex: Executor, user_id: UUID, cursor: str | None, limit: int) -> CustomerOrderPage:
    """A page of the customer's orders, newest first; a cursor this list did not make: 422."""
    after = None
    if cursor:
        at, order_id = decode_cursor(cursor, (datetime, UUID))
        after = (at, order_id)
    rows = await history_queries.fetch_customer_orders(ex, user_id, after, limit + 1)
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    return CustomerOrderPage(
        tuple(orjson.Fragment(r["document"]) for r in page),
        encode_cursor([last["created_at"].isoformat(), str(last["id"])]) if last else None,
    )


async def customer_overview(ex: Executor, user_id: UUID, currency: str, recent: int = 5) -> CustomerOverview:
    """The customer's counts and spend from their summary rows, and their `recent` latest
    orders: one statement, the same for three orders or thirty thousand."""
    rows = await history_queries.fetch_overview(ex, user_id, recent)
    summaries: Sequence[dict[str, Any]] = rows[0]["summaries"] or ()
    spend = sum(s["lifetime_spend"] for s in summaries if s["currency"] == currency)
    return CustomerOverview(
        recent_orders=tuple(orjson.Fragment(r["document"]) for r in rows if r["id"] is not None),
        orders_count=sum(s["orders_count"] for s in summaries),
        open_orders_count=sum(s["open_orders_count"] for s in summaries),
        lifetime_spend=Money(spend, currency),
    )


async def adopt_guest_orders(ex: Executor, user_id: UUID, email: str) -> int:
    """Make the guest orders placed with `email` the account's, in the caller's transaction
    (the one that proves the account owns the address); how many. Their summary follows."""
    return await history_queries.adopt_guest_orders(ex, user_id, email)
