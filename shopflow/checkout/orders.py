"""Orders: placing one from a cart (stock reserved in the same transaction), its status
machine, fulfilment, cancellation and refunds. Payments arriving: settlement.py.

Status moves only through `move_status`, which checks TRANSITIONS in the UPDATE itself and writes
the history row in the same transaction:

    pending_payment → paid → fulfilled → delivered
    pending_payment → cancelled (by the buyer, staff, or the reservation expiring)
    paid → cancelled (stock back on hand, money refunded)
    paid, fulfilled, delivered → partially_refunded → refunded
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Database, Executor
from ..platform.errors import Invalid
from ..platform.pagination import decode_cursor, encode_cursor
from . import cart_queries, queries
from .carts import Caller, may_see, money
from .errors import (
    CartClosed,
    CartNotFound,
    EmptyCart,
    InvalidTransition,
    OrderNotFound,
    OutOfStock,
    RefundTooLarge,
    UnavailableItems,
)
from .models import OrderFilter
from .payments import Charge, Payments, Provider
from .sales import CancelReason, RefundReason, Sales

# The statuses an order may move to, and from which.
TRANSITIONS: dict[str, frozenset[str]] = {
    "paid": frozenset({"pending_payment"}),
    "fulfilled": frozenset({"paid", "partially_refunded"}),
    "delivered": frozenset({"fulfilled"}),
    "cancelled": frozenset({"pending_payment", "paid", "partially_refunded"}),
    "partially_refunded": frozenset({"paid", "fulfilled", "delivered", "partially_refunded"}),
    "refunded": frozenset({"paid", "fulfilled", "delivered", "partially_refunded"}),
}
NOT_SHIPPED = frozenset({"pending_payment", "paid", "partially_refunded"})
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_order_number() -> str:
    """Like SF-7K3M-9QXP: 40 random bits, so numbers say nothing about order volume."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"SF-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class Pricing:
    currency: str
    shipping_rates: dict[str, int]
    tax_rates: dict[str, int]  # basis points
    reservation_ttl: int

    def totals(self, subtotal: int, country: str) -> dict[str, int]:
        shipping = self.shipping_rates.get(country, self.shipping_rates["default"])
        bps = self.tax_rates.get(country, self.tax_rates["default"])
        tax = ((subtotal + shipping) * bps + 5000) // 10000  # rounded half up
        return {"subtotal": subtotal, "shipping": shipping, "tax": tax, "total": subtotal + shipping + tax}


async def move_status(ex: Executor, order_id: UUID, status: str, note: str) -> asyncpg.Record:
    """Change the order's status if TRANSITIONS allow it from where it is; else 409."""
    row = await queries.set_status(ex, order_id, status, TRANSITIONS[status])
    if row is None:
        current = await queries.fetch_order_row(ex, order_id)
        raise InvalidTransition(
            f"an order that is {current['status'] if current else 'gone'} cannot become {status}"
        )
    await queries.record_status(ex, order_id, status, note)
    return row


def charge_of(order: asyncpg.Record) -> Charge:
    return Charge(order["id"], order["number"], order["total"], order["currency"], order["email"])


async def place_order(
    db: Database, pricing: Pricing, cart_id: UUID, caller: Caller, request: dict[str, Any]
) -> tuple[asyncpg.Record, dict[str, Any]]:
    """Turn the cart into an order, holding its stock, in one transaction of two statements:
    the cart and its SKUs' stock rows are locked (in key order) and checked; if any SKU is
    short, nothing is held (409). The order row and its document."""
    async with db.transaction() as conn:
        rows = await cart_queries.lock_cart_for_checkout(conn, cart_id)
        if not rows or not may_see(rows[0], caller):
            raise CartNotFound("no such cart")
        if rows[0]["status"] != "open":
            raise CartClosed("this cart has been checked out already")
        lines = [row for row in rows if row["id"] is not None]
        if not lines:
            raise EmptyCart("add something to the cart first")
        if gone := [line["sku"] for line in lines if not line["for_sale"]]:
            raise UnavailableItems(f"no longer for sale: {', '.join(gone)}", extra={"skus": gone})
        wanted: Counter[str] = Counter()
        available: dict[str, int] = {}
        for line in lines:
            wanted[line["sku"]] += line["quantity"]
            available[line["sku"]] = line["available"] or 0  # no stock row: none
        if short := [
            {"sku": sku, "requested": n, "available": max(0, available[sku])}
            for sku, n in sorted(wanted.items())
            if available[sku] < n
        ]:
            raise OutOfStock(short)
        shipping_address = request["shipping_address"]
        subtotal = sum(line["unit_price"] * line["quantity"] for line in lines)
        values = {
            "user_id": rows[0]["user_id"] or caller.user_id,
            "cart_id": cart_id,
            "email": request["email"],
            "currency": pricing.currency,
            "shipping_address": shipping_address,
            "billing_address": request.get("billing_address") or shipping_address,
            "payment_provider": request["payment_provider"],
            **pricing.totals(subtotal, shipping_address["country"]),
        }
        for _ in range(5):  # a new number on the rare clash
            order = await queries.place_order(
                conn, new_order_number(), values, lines, dict(wanted), pricing.reservation_ttl
            )
            if order is not None:
                break
        else:
            raise RuntimeError("no free order number in 5 tries")
    items = [
        {
            "variant_id": line["variant_id"],
            "sku": line["sku"],
            "name": cart_queries.line_name(line),
            "unit_price": line["unit_price"],
            "quantity": line["quantity"],
            "line_total": line["unit_price"] * line["quantity"],
        }
        for line in lines
    ]
    history = [{"status": "pending_payment", "at": order["created_at"], "note": "order placed"}]
    return order, order_document({**dict(order), "items": items, "history": history, "shipments": []})


async def attach_payment(db: Database, order_id: UUID, ref: str | None) -> None:
    await queries.set_payment(db, order_id, "pending", ref)


async def abandon(db: Database, order_id: UUID, note: str) -> None:
    """Cancel an order whose payment could not even start: its stock goes back, and its cart
    opens again so that the buyer can retry."""
    async with db.transaction() as conn:
        await queries.move_reservations(conn, order_id, "held", "released")
        await move_status(conn, order_id, "cancelled", note)
        await queries.set_payment(conn, order_id, "cancelled")
        await queries.reopen_cart(conn, order_id)


def _visible(row: asyncpg.Record | None, caller: Caller) -> asyncpg.Record:
    """The order for its owner or staff, or a guest order for whoever has its random id (as
    with guest carts); anyone else gets 404, as if it did not exist."""
    if row is None or not (caller.staff or row["user_id"] is None or row["user_id"] == caller.user_id):
        raise OrderNotFound("no such order")
    return row


async def visible_order(ex: Executor, order_id: UUID, caller: Caller) -> asyncpg.Record:
    """The order document, for its owner or staff."""
    return _visible(await queries.fetch_order_document(ex, order_id), caller)


def order_document(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    currency = row["currency"]
    return {
        "id": row["id"],
        "number": row["number"],
        "status": row["status"],
        "email": row["email"],
        "items": [
            {
                **item,
                "unit_price": money(item["unit_price"], currency),
                "line_total": money(item["line_total"], currency),
            }
            for item in row["items"]
        ],
        "totals": {k: money(row[k], currency) for k in ("subtotal", "shipping", "tax", "total", "refunded")},
        "shipping_address": row["shipping_address"],
        "billing_address": row["billing_address"],
        "payment": {"provider": row["payment_provider"], "status": row["payment_status"]},
        "history": row["history"],
        "shipments": row["shipments"],
        "created_at": row["created_at"],
    }


async def expire(db: Database, order_id: UUID) -> bool:
    """Cancel an unpaid order whose reservation expired and give its stock back; idempotent."""
    async with db.transaction() as conn:
        order = await queries.fetch_order_row(conn, order_id, lock=True)
        if order is None or order["status"] != "pending_payment":
            return False
        await queries.move_reservations(conn, order_id, "held", "released")
        await move_status(conn, order_id, "cancelled", "not paid in time; the stock was released")
    return True


async def refund_rest(
    conn: asyncpg.Connection, provider: Provider, order: asyncpg.Record, key: str, note: str
) -> int:
    """Give back all that is left of the order's payment, and record it; how much."""
    remaining: int = order["total"] - order["refunded"]
    ref = await provider.refund(order["payment_ref"], charge_of(order), remaining, key)
    await queries.insert_refund(conn, order["id"], remaining, note, ref)
    await queries.set_payment(conn, order["id"], "refunded", refunded=order["total"])
    return remaining


async def cancel(db: Database, payments: Payments, sales: Sales, order_id: UUID, caller: Caller) -> None:
    """Cancel before shipment: held stock released, sold stock back on hand, money refunded."""
    async with db.transaction() as conn:
        order = _visible(await queries.fetch_order_row(conn, order_id, lock=True), caller)
        if order["status"] not in NOT_SHIPPED:
            raise InvalidTransition(f"an order that is {order['status']} cannot be cancelled")
        provider = payments.get(order["payment_provider"])
        note = "cancelled by staff" if caller.staff else "cancelled by the buyer"
        given_back = 0
        if order["status"] == "pending_payment":
            await queries.move_reservations(conn, order_id, "held", "released")
            await queries.set_payment(conn, order_id, "cancelled")
        else:
            given_back = await refund_rest(conn, provider, order, f"cancel-{order_id}", note)
            await queries.move_reservations(conn, order_id, "committed", "released")
        await move_status(conn, order_id, "cancelled", note)
    sales.cancelled(CancelReason.STAFF if caller.staff else CancelReason.BUYER)
    if order["status"] == "pending_payment":
        await provider.cancel(order["payment_ref"])
    else:
        sales.refunded(order["payment_provider"], order["currency"], given_back, RefundReason.CANCELLED)


async def fulfil(db: Database, order_id: UUID, carrier: str, tracking_number: str) -> None:
    async with db.transaction() as conn:
        await move_status(conn, order_id, "fulfilled", f"shipped with {carrier}, tracking {tracking_number}")
        await queries.insert_shipment(conn, order_id, carrier, tracking_number)


async def deliver(db: Database, order_id: UUID) -> None:
    async with db.transaction() as conn:
        await move_status(conn, order_id, "delivered", "delivered")


async def refund(
    db: Database, payments: Payments, sales: Sales, order_id: UUID, amount: int | None, reason: str
) -> None:
    """Refund part or all of what is left; the order row is locked through the provider call,
    so two refunds cannot both spend the same money."""
    async with db.transaction() as conn:
        order = await queries.fetch_order_row(conn, order_id, lock=True)
        if order is None:
            raise OrderNotFound("no such order")
        if order["payment_status"] not in ("paid", "partially_refunded"):
            raise InvalidTransition(f"an order whose payment is {order['payment_status']} cannot be refunded")
        remaining = order["total"] - order["refunded"]
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise RefundTooLarge(
                f"at most {remaining} is left to refund",
                errors=[{"field": "amount", "message": f"at most {remaining}"}],
            )
        refunded = order["refunded"] + amount
        ref = await payments.get(order["payment_provider"]).refund(
            order["payment_ref"], charge_of(order), amount, f"refund-{order_id}-{refunded}"
        )
        status = "refunded" if refunded == order["total"] else "partially_refunded"
        await queries.insert_refund(conn, order_id, amount, reason, ref)
        await move_status(conn, order_id, status, reason or f"refunded {amount}")
        await queries.set_payment(conn, order_id, status, refunded=refunded)
    sales.refunded(order["payment_provider"], order["currency"], amount, RefundReason.STAFF)


async def list_orders(db: Database, query: OrderFilter) -> dict[str, Any]:
    """A page of orders, newest first."""
    after = None
    if query.cursor:
        at, order_id = decode_cursor(query.cursor, (str, str))
        try:
            after = (datetime.fromisoformat(at), UUID(order_id))
        except ValueError:
            raise Invalid(
                "the cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor"}]
            ) from None
    rows = await queries.fetch_orders(
        db, query.status, query.created_from, query.created_to, after, query.limit + 1
    )
    page = rows[: query.limit]
    items = [{**dict(r), "total": money(r["total"], r["currency"])} for r in page]
    last = page[-1] if len(rows) > query.limit else None
    return {
        "items": items,
        "next_cursor": encode_cursor([last["created_at"].isoformat(), str(last["id"])]) if last else None,
    }


async def events(db: Database, cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of the order event feed, and where the next one starts."""
    after = decode_cursor(cursor, (int,))[0] if cursor else 0
    rows = await queries.fetch_events(db, after, limit)
    return {
        "items": [dict(r) for r in rows],
        "next_cursor": encode_cursor([rows[-1]["id"] if rows else after]),
    }
