"""Orders as the API shows them: the records built from their rows, for whoever may see
them, and the staff's order list and event feed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Database, Executor
from ..platform.pagination import decode_cursor, encode_cursor
from . import access, queries
from .carts import STAFF, Caller
from .errors import OrderNotFound
from .models import OrderFilter, OrderStatus, PaymentStatus
from .records import (
    EventPageRecord,
    HistoryRecord,
    Money,
    OrderEventRecord,
    OrderLineRecord,
    OrderPageRecord,
    OrderRecord,
    OrderSummaryRecord,
    PaymentRecord,
    ShipmentRecord,
)


def visible(row: asyncpg.Record | None, caller: Caller) -> asyncpg.Record:
    """The order for its owner or staff, or a guest order for whoever has its secret;
    anyone else gets 404, as if it did not exist."""
    if row is None or not (
        caller.staff
        or (row["user_id"] is not None and row["user_id"] == caller.user_id)
        or (row["user_id"] is None and access.allows(row["access_hash"], caller.order_token))
    ):
        raise OrderNotFound("no such order")
    return row


async def visible_order(ex: Executor, order_id: UUID, caller: Caller) -> OrderRecord:
    """The order, for whoever may see it."""
    return order_record(visible(await queries.fetch_order_document(ex, order_id), caller))


async def staff_view(ex: Executor, order_id: UUID) -> OrderRecord:
    return await visible_order(ex, order_id, STAFF)


def order_record(row: asyncpg.Record | Mapping[str, Any]) -> OrderRecord:
    """The order as the API shows it, from a row of `queries.ORDER_DOCUMENT`'s shape."""
    currency = row["currency"]
    return OrderRecord(
        id=row["id"],
        number=row["number"],
        status=OrderStatus(row["status"]),
        email=row["email"],
        items=tuple(_line(item, currency) for item in row["items"]),
        totals={k: Money(row[k], currency) for k in ("subtotal", "shipping", "tax", "total", "refunded")},
        shipping_address=row["shipping_address"],
        billing_address=row["billing_address"],
        payment=PaymentRecord(row["payment_provider"], PaymentStatus(row["payment_status"])),
        history=tuple(
            HistoryRecord(OrderStatus(h["status"]), datetime.fromisoformat(h["at"]), h["note"])
            for h in row["history"]
        ),
        shipments=tuple(
            ShipmentRecord(s["carrier"], s["tracking_number"], datetime.fromisoformat(s["at"]))
            for s in row["shipments"]
        ),
        created_at=row["created_at"],
    )


def _line(item: dict[str, Any], currency: str) -> OrderLineRecord:
    variant_id = item["variant_id"]
    return OrderLineRecord(
        variant_id=UUID(str(variant_id)) if variant_id is not None else None,
        sku=item["sku"],
        name=item["name"],
        unit_price=Money(item["unit_price"], currency),
        quantity=item["quantity"],
        line_total=Money(item["line_total"], currency),
    )


async def list_orders(db: Database, query: OrderFilter) -> OrderPageRecord:
    """A page of orders, newest first."""
    after = None
    if query.cursor:
        at, order_id = decode_cursor(query.cursor, (datetime, UUID))
        after = (at, order_id)
    rows = await queries.fetch_orders(
        db, query.status, query.created_from, query.created_to, after, query.limit + 1
    )
    page = rows[: query.limit]
    items = tuple(
        OrderSummaryRecord(
            r["id"],
            r["number"],
            OrderStatus(r["status"]),
            r["email"],
            Money(r["total"], r["currency"]),
            r["created_at"],
        )
        for r in page
    )
    last = page[-1] if len(rows) > query.limit else None
    return OrderPageRecord(
        items, encode_cursor([last["created_at"].isoformat(), str(last["id"])]) if last else None
    )


async def events(db: Database, cursor: str | None, limit: int) -> EventPageRecord:
    """A page of the order event feed, and where the next one starts."""
    after = decode_cursor(cursor, (int,))[0] if cursor else 0
    rows = await queries.fetch_events(db, after, limit)
    items = tuple(OrderEventRecord(**r) for r in rows)
    return EventPageRecord(items, encode_cursor([rows[-1]["id"] if rows else after]))
