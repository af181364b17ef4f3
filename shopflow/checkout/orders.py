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
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from ..catalog.interface import StockMove, stock_came_back
from ..platform.db import Database, Executor
from ..platform.idempotency import Claim
from ..platform.outbox import enqueue_job
from . import access, cart_queries, history_queries, queries
from .carts import Caller, may_see
from .context import Checkout, Pricing
from .errors import (
    CartClosed,
    CartNotFound,
    EmptyCart,
    InvalidTransition,
    OrderNotFound,
    OutOfStock,
    RefundTooLarge,
    Shortage,
    UnavailableItems,
)
from .models import CartStatus, OrderStatus, PaymentStatus, Reservation
from .order_views import order_record, staff_view, visible, visible_order
from .payments import Charge, Provider
from .records import OrderRecord
from .sales import CancelReason, RefundReason

MONEY_TAKEN = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
NOT_SHIPPED = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED})
_REFUNDABLE = frozenset(
    {OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED}
)
# The statuses an order may move to, and from which.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAID: frozenset({OrderStatus.PENDING_PAYMENT}),
    OrderStatus.FULFILLED: frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.FULFILLED}),
    OrderStatus.CANCELLED: NOT_SHIPPED,
    OrderStatus.PARTIALLY_REFUNDED: _REFUNDABLE,
    OrderStatus.REFUNDED: _REFUNDABLE,
}
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_order_number() -> str:
    """Like SF-7K3M-9QXP: 40 random bits, so numbers say nothing about order volume."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"SF-{chars[:4]}-{chars[4:]}"


# How units available change when an order's reservations move from one state to another.
_AVAILABLE_CHANGE = {
    (Reservation.HELD, Reservation.COMMITTED): 0,  # paid: the units were not available already
    (Reservation.HELD, Reservation.RELEASED): 1,
    (Reservation.COMMITTED, Reservation.RELEASED): 1,
    (Reservation.RELEASED, Reservation.COMMITTED): -1,
}


def stock_moves(
    rows: list[asyncpg.Record], from_state: Reservation, to_state: Reservation
) -> list[StockMove]:
    """What `queries.move_reservations` did, as the catalog hears of it."""
    sign = _AVAILABLE_CHANGE[from_state, to_state]
    if not sign:
        return []
    return [
        StockMove(
            r["product_id"], crossed=(r["available"] > 0) != (r["available"] - sign * r["quantity"] > 0)
        )
        for r in rows
    ]


async def move_stock(
    conn: Executor, order_id: UUID, from_state: Reservation, to_state: Reservation
) -> list[StockMove]:
    rows = await queries.move_reservations(conn, order_id, from_state, to_state)
    return stock_moves(rows, from_state, to_state)


async def released(co: Checkout, moves: list[StockMove], jobs: list[UUID]) -> None:
    """After a commit that released stock: the catalog hears of the moves, and the workers of
    the products that came back (`catalog.interface.stock_came_back`)."""
    co.stock.moved(moves)
    for job_id in jobs:
        await enqueue_job(co.queue, job_id)


async def move_status(ex: Executor, order_id: UUID, status: OrderStatus, note: str) -> asyncpg.Record:
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


@dataclass(frozen=True)
class PlacedOrder:
    order: asyncpg.Record
    document: OrderRecord
    token: str | None  # a guest order's secret: the buyer hears it once, here


async def place_order(
    co: Checkout, cart_id: UUID, caller: Caller, request: dict[str, Any], claim: Claim | None
) -> PlacedOrder:
    """Turn the cart into an order, holding its stock, in one transaction of two statements:
    the cart and its SKUs' stock rows are locked (in key order) and checked; if any SKU is
    short, nothing is held (409). The request's Idempotency-Key names the order in the same
    transaction."""
    async with co.db.transaction() as conn:
        rows = await cart_queries.lock_cart_for_checkout(conn, cart_id)
        lines = _lines_to_order(rows, caller)
        wanted = _check_stock(lines)
        values = _order_values(co.pricing, rows[0]["user_id"] or caller.user_id, cart_id, lines, request)
        token = _guest_secret(co, values)
        if claim is not None:
            await claim.made(conn, values["id"])
        order = await _insert_order(conn, values, lines, wanted, co.pricing.reservation_ttl)
    co.stock.moved(_held(lines, wanted))
    return PlacedOrder(order, _placed_record(order, lines), token)


def _guest_secret(co: Checkout, values: dict[str, Any]) -> str | None:
    """The new order's id and, for a guest order, the secret that reaches it (kept hashed)."""
    values["id"] = order_id = uuid4()
    token = co.access.token(order_id) if values["user_id"] is None else None
    values["access_hash"] = access.digest(token) if token is not None else None
    return token


def _lines_to_order(rows: list[asyncpg.Record], caller: Caller) -> list[asyncpg.Record]:
    """The cart's lines, if the caller may check it out and every line is for sale."""
    if not rows or not may_see(rows[0], caller):
        raise CartNotFound("no such cart")
    if rows[0]["status"] != CartStatus.OPEN:
        raise CartClosed("this cart has been checked out already")
    lines = [row for row in rows if row["id"] is not None]
    if not lines:
        raise EmptyCart("add something to the cart first")
    if gone := [line["sku"] for line in lines if not line["for_sale"]]:
        raise UnavailableItems(f"no longer for sale: {', '.join(gone)}", extra={"skus": gone})
    return lines


def _check_stock(lines: list[asyncpg.Record]) -> Counter[str]:
    """Units wanted per SKU (two lines of one SKU count together); 409 if any is short."""
    wanted: Counter[str] = Counter()
    for line in lines:
        wanted[line["sku"]] += line["quantity"]
    available = {line["sku"]: line["available"] or 0 for line in lines}  # no stock row: none
    short = [
        Shortage(sku, n, max(0, available[sku])) for sku, n in sorted(wanted.items()) if available[sku] < n
    ]
    if short:
        raise OutOfStock(short)
    return wanted


def _held(lines: list[asyncpg.Record], wanted: Counter[str]) -> list[StockMove]:
    before = {line["sku"]: (line["product_id"], line["available"]) for line in lines}
    return [
        StockMove(product_id, crossed=available - wanted[sku] <= 0)
        for sku, (product_id, available) in before.items()
    ]


def _order_values(
    pricing: Pricing,
    user_id: UUID | None,
    cart_id: UUID,
    lines: list[asyncpg.Record],
    request: dict[str, Any],
) -> dict[str, Any]:
    shipping_address = request["shipping_address"]
    subtotal = sum(line["unit_price"] * line["quantity"] for line in lines)
    return {
        "user_id": user_id,
        "cart_id": cart_id,
        "email": request["email"],
        "currency": pricing.currency,
        "shipping_address": shipping_address,
        "billing_address": request.get("billing_address") or shipping_address,
        "payment_provider": request["payment_provider"],
        **pricing.totals(subtotal, shipping_address["country"]),
    }


async def _insert_order(
    conn: asyncpg.Connection,
    values: dict[str, Any],
    lines: list[asyncpg.Record],
    wanted: Counter[str],
    ttl: int,
) -> asyncpg.Record:
    for _ in range(5):  # a new number on the rare clash
        order = await queries.place_order(conn, new_order_number(), values, lines, dict(wanted), ttl)
        if order is not None:
            return order
    raise RuntimeError("no free order number in 5 tries")


def _placed_record(order: asyncpg.Record, lines: list[asyncpg.Record]) -> OrderRecord:
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
    at = order["created_at"].isoformat()
    history = [{"status": OrderStatus.PENDING_PAYMENT, "at": at, "note": "order placed"}]
    return order_record({**dict(order), "items": items, "history": history, "shipments": []})


async def attach_payment(db: Database, order_id: UUID, ref: str | None) -> None:
    await queries.set_payment(db, order_id, PaymentStatus.PENDING, ref)


async def abandon(co: Checkout, order_id: UUID, note: str, claim: Claim | None) -> None:
    """Cancel an order whose payment could not even start: its stock goes back, and its cart
    opens again so that the buyer can retry (with the same Idempotency-Key, too)."""
    async with co.db.transaction() as conn:
        if claim is not None:
            await claim.undone(conn)
        moves = await move_stock(conn, order_id, Reservation.HELD, Reservation.RELEASED)
        await move_status(conn, order_id, OrderStatus.CANCELLED, note)
        await queries.set_payment(conn, order_id, PaymentStatus.CANCELLED)
        await queries.reopen_cart(conn, order_id)
        jobs = await stock_came_back(conn, moves)
    await released(co, moves, jobs)


async def payment_to_capture(ex: Executor, order_id: UUID, caller: Caller) -> str:
    """The PayPal payment of an order that waits for it, for whoever may see the order."""
    row = visible(await queries.fetch_order_row(ex, order_id), caller)
    if row["payment_provider"] != "paypal" or row["payment_ref"] is None:
        raise InvalidTransition("only PayPal payments are captured")
    if row["status"] != OrderStatus.PENDING_PAYMENT:
        raise InvalidTransition(f"an order that is {row['status']} takes no payment")
    return str(row["payment_ref"])


async def expire_batch(co: Checkout, limit: int) -> int:
    """Cancel up to `limit` unpaid orders whose reservation expired, giving their stock back,
    in one transaction; how many. Orders locked elsewhere wait for the next batch."""
    async with co.db.transaction() as conn:
        order_ids = await queries.lock_expired_orders(conn, limit)
        if not order_ids:
            return 0
        rows = await queries.move_many_reservations(conn, order_ids, Reservation.HELD, Reservation.RELEASED)
        await history_queries.lock_summaries(conn, order_ids)  # in key order: two batches cannot deadlock
        expired = await queries.cancel_orders(conn, order_ids, "not paid in time; the stock was released")
        moves = stock_moves(rows, Reservation.HELD, Reservation.RELEASED)
        jobs = await stock_came_back(conn, moves)
    await released(co, moves, jobs)
    co.sales.cancelled(CancelReason.EXPIRED, expired)
    return expired


async def refund_rest(
    conn: asyncpg.Connection, provider: Provider, order: asyncpg.Record, key: str, note: str
) -> int:
    """Give back all that is left of the order's payment, and record it; how much."""
    remaining, ref = await give_back_rest(provider, order, key)
    await record_refund_rest(conn, order, remaining, note, ref)
    return remaining


async def give_back_rest(provider: Provider, order: asyncpg.Record, key: str) -> tuple[int, str | None]:
    """Ask the provider to give back all that is left of the order's payment; how much, and
    the provider's reference for the refund."""
    remaining: int = order["total"] - order["refunded"]
    return remaining, await provider.refund(order["payment_ref"], charge_of(order), remaining, key)


async def record_refund_rest(
    conn: asyncpg.Connection, order: asyncpg.Record, amount: int, note: str, ref: str | None
) -> None:
    """Record that the rest of the order's payment went back (the customer's summary row
    follows: see history.py)."""
    await queries.insert_refund(conn, order["id"], amount, note, ref)
    await queries.set_payment(conn, order["id"], PaymentStatus.REFUNDED, refunded=order["total"])


async def cancel(co: Checkout, order_id: UUID, caller: Caller) -> OrderRecord:
    """Cancel before shipment: held stock released, sold stock back on hand, money refunded."""
    async with co.db.transaction() as conn:
        order = visible(await queries.fetch_order_row(conn, order_id, lock=True), caller)
        if order["status"] not in NOT_SHIPPED:
            raise InvalidTransition(f"an order that is {order['status']} cannot be cancelled")
        provider = co.payments.get(order["payment_provider"])
        note = "cancelled by staff" if caller.staff else "cancelled by the buyer"
        given_back = 0
        if order["status"] == OrderStatus.PENDING_PAYMENT:
            moves = await move_stock(conn, order_id, Reservation.HELD, Reservation.RELEASED)
            await queries.set_payment(conn, order_id, PaymentStatus.CANCELLED)
        else:
            given_back, ref = await give_back_rest(provider, order, f"cancel-{order_id}")
            # stock rows before the customer's summary row, in the order checkout locks them
            moves = await move_stock(conn, order_id, Reservation.COMMITTED, Reservation.RELEASED)
            await record_refund_rest(conn, order, given_back, note, ref)
        await move_status(conn, order_id, OrderStatus.CANCELLED, note)
        jobs = await stock_came_back(conn, moves)
    await released(co, moves, jobs)
    co.sales.cancelled(CancelReason.STAFF if caller.staff else CancelReason.BUYER)
    if order["status"] == OrderStatus.PENDING_PAYMENT:
        await provider.cancel(order["payment_ref"])
    else:
        co.sales.refunded(provider.name, order["currency"], given_back, RefundReason.CANCELLED)
    return await visible_order(co.db, order_id, caller)


async def fulfil(db: Database, order_id: UUID, carrier: str, tracking_number: str) -> OrderRecord:
    """Ship a paid order."""
    async with db.transaction() as conn:
        note = f"shipped with {carrier}, tracking {tracking_number}"
        await move_status(conn, order_id, OrderStatus.FULFILLED, note)
        await queries.insert_shipment(conn, order_id, carrier, tracking_number)
    return await staff_view(db, order_id)


async def deliver(db: Database, order_id: UUID) -> OrderRecord:
    async with db.transaction() as conn:
        await move_status(conn, order_id, OrderStatus.DELIVERED, "delivered")
    return await staff_view(db, order_id)


async def placed_again(co: Checkout, order_id: UUID) -> PlacedOrder:
    """An order whose checkout died before answering, as `place_order` answered it."""
    order = await queries.fetch_order_row(co.db, order_id)
    if order is None:
        raise OrderNotFound("no such order")
    token = co.access.token(order_id) if order["user_id"] is None else None
    return PlacedOrder(order, await staff_view(co.db, order_id), token)


async def refund(
    co: Checkout, order_id: UUID, amount: int | None, reason: str, claim: Claim | None
) -> OrderRecord:
    """Refund part or all of what is left; the order row is locked through the provider call,
    so two refunds cannot both spend the same money. The request's Idempotency-Key names
    the order in the refund's transaction: a retry after a crash answers, never refunds again."""
    async with co.db.transaction() as conn:
        order = await queries.fetch_order_row(conn, order_id, lock=True)
        if order is None:
            raise OrderNotFound("no such order")
        if order["payment_status"] not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
            raise InvalidTransition(f"an order whose payment is {order['payment_status']} cannot be refunded")
        remaining = order["total"] - order["refunded"]
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise RefundTooLarge(
                f"at most {remaining} is left to refund",
                errors=[{"field": "amount", "message": f"at most {remaining}"}],
            )
        refunded = order["refunded"] + amount
        ref = await co.payments.get(order["payment_provider"]).refund(
            order["payment_ref"], charge_of(order), amount, f"refund-{order_id}-{refunded}"
        )
        status = OrderStatus.REFUNDED if refunded == order["total"] else OrderStatus.PARTIALLY_REFUNDED
        await queries.insert_refund(conn, order_id, amount, reason, ref)
        await move_status(conn, order_id, status, reason or f"refunded {amount}")
        await queries.set_payment(conn, order_id, PaymentStatus(status), refunded=refunded)
        if claim is not None:  # last: the key row stays unlocked through the provider call
            await claim.made(conn, order_id)
    co.sales.refunded(order["payment_provider"], order["currency"], amount, RefundReason.STAFF)
    return await staff_view(co.db, order_id)
