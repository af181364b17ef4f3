"""Money coming in and going back: payments applied to orders, from the providers' webhooks,
the reconcile job and staff (manual payments).

A webhook event is recorded under a unique key in the transaction of its effect, so a
replay changes nothing; the payment's state is fetched from the provider rather than read
from the event, so events arriving out of order cannot move an order backwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg

from ..catalog.interface import StockMove
from ..platform.idempotency import Claim
from ..platform.mail import enqueue_mail, queue_mail
from ..platform.outbox import enqueue_job, queue_job
from . import order_views, orders, queries
from .context import Checkout
from .errors import InvalidTransition, OrderNotFound
from .models import OrderStatus, Outcome, PaymentStatus, ProviderState, Reservation
from .payments import Provider
from .records import OrderRecord
from .sales import PaymentFailure, RefundReason

log = logging.getLogger("shopflow.payments")
STRIPE_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
    }
)


async def settle(
    co: Checkout,
    provider: Provider,
    ref: str,
    event: tuple[str, str] | None = None,
    claim: Claim | None = None,
) -> Outcome:
    """Bring the order paid through `ref` in line with what the provider says; with `event`
    (id, type), only once per event; with an Idempotency-Key's `claim`, naming the order on
    it in the same transaction. What happened."""
    state = await provider.status(ref)
    # the buyer agreed: take the money while the order still waits for it
    waiting = OrderStatus.PENDING_PAYMENT
    if state == ProviderState.APPROVED and await queries.status_by_ref(co.db, provider.name, ref) == waiting:
        await provider.capture(ref)
        state = await provider.status(ref)
    failed, payment = False, None
    async with co.db.transaction() as conn:
        if event is not None and not await queries.record_event(conn, provider.name, *event):
            return Outcome.REPLAYED
        order_id = await queries.order_by_ref(conn, provider.name, ref)
        if order_id is None:
            return Outcome.UNKNOWN
        if claim is not None:
            await claim.made(conn, order_id)
        if state in (ProviderState.FAILED, ProviderState.CANCELLED):
            failed = await queries.fail_payment(conn, order_id, PaymentStatus(state))
        if state == ProviderState.PAID:
            payment = await record_payment(conn, co, order_id, f"paid through {provider.name}")
    if payment is None:
        if failed:
            co.sales.payment_failed(provider.name, PaymentFailure(state))
        return Outcome(state)
    await payment.dispatch(co)
    return payment.outcome


async def stripe_event(co: Checkout, provider: Any, payload: bytes, signature: str) -> Outcome:
    """Apply a verified Stripe event (others are acknowledged and ignored)."""
    event = provider.event(payload, signature)
    if event.get("type") not in STRIPE_EVENTS or not isinstance(event.get("id"), str):
        return Outcome.IGNORED
    obj = (event.get("data") or {}).get("object") or {}
    ref = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
    if not isinstance(ref, str):
        return Outcome.IGNORED
    if event["type"] == "charge.refunded":
        return await _refunded(co, provider, ref, (event["id"], event["type"]), obj.get("amount_refunded", 0))
    return await settle(co, provider, ref, (event["id"], event["type"]))


PAYPAL_EVENTS = frozenset(
    {
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.REFUNDED",
    }
)


async def paypal_event(co: Checkout, provider: Any, payload: bytes, headers: Any) -> Outcome:
    """Apply a PayPal event that PayPal confirms it sent (others are acknowledged)."""
    event = await provider.event(payload, headers)
    kind = event.get("event_type")
    if kind not in PAYPAL_EVENTS or not isinstance(event.get("id"), str):
        return Outcome.IGNORED
    resource = event.get("resource") or {}
    if kind == "CHECKOUT.ORDER.APPROVED":
        ref = resource.get("id")
    else:
        ref = (resource.get("supplementary_data") or {}).get("related_ids", {}).get("order_id")
    if not isinstance(ref, str):
        return Outcome.IGNORED
    if kind == "PAYMENT.CAPTURE.REFUNDED":
        return await _refunded(co, provider, ref, (event["id"], kind), await provider.refunded(ref))
    return await settle(co, provider, ref, (event["id"], kind))


async def _refunded(
    co: Checkout, provider: Provider, ref: str, event: tuple[str, str], total: int
) -> Outcome:
    """A refund made at the provider (say, from its dashboard) that the order does not know."""
    async with co.db.transaction() as conn:
        if not await queries.record_event(conn, provider.name, *event):
            return Outcome.REPLAYED
        order_id = await queries.order_by_ref(conn, provider.name, ref)
        if order_id is None:
            return Outcome.UNKNOWN
        outcome, order, amount = await record_outside_refund(conn, order_id, int(total))
    if order is not None:
        co.sales.refunded(provider.name, order["currency"], amount, RefundReason.AT_PROVIDER)
    return outcome


async def refund_order(conn: Any, co: Checkout, order_id: str) -> Callable[[], None] | None:
    """Outbox job: give back a payment that arrived for an order that cannot be filled; the
    count of it, for once the job has committed."""
    refunded = await refund_cancelled(conn, co, UUID(order_id))
    if refunded is None:
        return None
    order, amount = refunded
    provider, currency = order["payment_provider"], order["currency"]
    return partial(co.sales.refunded, provider, currency, amount, RefundReason.LATE_PAYMENT)


async def reconcile(co: Checkout, minutes: int) -> int:
    """Ask the providers about orders whose payment news is late; how many changed."""
    changed = 0
    for row in await queries.unsettled_orders(co.db, minutes):
        try:
            outcome = await settle(co, co.payments.get(row["payment_provider"]), row["payment_ref"])
        except Exception:
            log.warning("could not reconcile order %s", row["id"], exc_info=True)
            continue
        changed += outcome in (Outcome.PAID, Outcome.REFUND)
    return changed


@dataclass(frozen=True)
class Payment:
    """What applying a payment did, and the work it left for the workers."""

    outcome: Outcome  # PAID, ALREADY or REFUND
    mail_id: UUID | None = None  # the confirmation, in the mail outbox
    job_id: UUID | None = None  # the refund, in the job outbox
    stock: tuple[StockMove, ...] = ()  # sold after all: the units are no longer available
    order: asyncpg.Record | None = None  # the order the money came for, as it was

    async def dispatch(self, co: Checkout) -> None:
        """After the commit: count the money, tell the catalog what stock moved, and hand the
        mail and the job to the workers now (the relays would after a minute if this is lost)."""
        if (order := self.order) is not None:
            sold = self.outcome == Outcome.PAID
            co.sales.received(order["payment_provider"], order["currency"], order["total"], sold=sold)
        co.stock.moved(self.stock)
        if self.mail_id is not None:
            await enqueue_mail(co.queue, self.mail_id)
        if self.job_id is not None:
            await enqueue_job(co.queue, self.job_id)


async def record_payment(conn: asyncpg.Connection, co: Checkout, order_id: UUID, note: str) -> Payment:
    """Apply a successful payment, once. When the order was cancelled meanwhile and its stock
    is gone, the money must go back: a refund job is written."""
    order = await queries.fetch_order_row(conn, order_id, lock=True)
    if order is None:
        raise OrderNotFound("no such order")
    if order["payment_status"] in orders.MONEY_TAKEN:
        return Payment(Outcome.ALREADY)
    stock: tuple[StockMove, ...] = ()
    if order["status"] == OrderStatus.PENDING_PAYMENT:
        await queries.move_reservations(conn, order_id, Reservation.HELD, Reservation.COMMITTED)
        await orders.move_status(conn, order_id, OrderStatus.PAID, note)
    elif (
        order["status"] == OrderStatus.CANCELLED
        and order["payment_status"] == PaymentStatus.PENDING  # expired, not cancelled by anyone
        and (taken := await queries.take_released(conn, order_id))
    ):
        # paid after its reservation expired, and the stock is still there: sold after all
        stock = tuple(orders.stock_moves(taken, Reservation.RELEASED, Reservation.COMMITTED))
        await queries.set_status(conn, order_id, OrderStatus.PAID, [OrderStatus.CANCELLED])
        await queries.record_status(
            conn, order_id, OrderStatus.PAID, f"{note}, after the reservation expired"
        )
    else:  # the buyer cancelled, or the stock went to someone else: the money goes back
        await queries.set_payment(conn, order_id, PaymentStatus.PAID)
        await queries.add_history(
            conn, order_id, order["status"], f"{note} after the order closed; refunding"
        )
        job_id = await queue_job(conn, "refund_order", str(order_id))
        return Payment(Outcome.REFUND, job_id=job_id, order=order)
    await queries.set_payment(conn, order_id, PaymentStatus.PAID)
    subject = f"Order {order['number']} is confirmed"
    mail_id = await queue_mail(conn, order["email"], subject, _confirmation(co, order))
    return Payment(Outcome.PAID, mail_id=mail_id, stock=stock, order=order)


def _confirmation(co: Checkout, order: asyncpg.Record) -> str:
    total = f"{order['total'] / 100:.2f} {order['currency']}"
    text = (
        f"Thank you for your order {order['number']}.\n\nWe have your payment of {total} and will "
        "let you know when it ships.\n"
    )
    if order["user_id"] is None:  # a guest's order opens with its secret; keep this link to yourself
        text += f"\nFollow your order here: {co.access.link(order['id'])}\n"
    return text


async def refund_cancelled(
    conn: asyncpg.Connection, co: Checkout, order_id: UUID
) -> tuple[asyncpg.Record, int] | None:
    """Give back in full a payment that arrived for a closed order, once; the order and how
    much went back."""
    order = await queries.fetch_order_row(conn, order_id, lock=True)
    if (
        order is None
        or order["status"] != OrderStatus.CANCELLED
        or order["payment_status"] != PaymentStatus.PAID
    ):
        return None
    provider = co.payments.get(order["payment_provider"])
    amount = await orders.refund_rest(
        conn, provider, order, f"late-{order_id}", "paid after the order closed"
    )
    await queries.add_history(conn, order_id, OrderStatus.CANCELLED, "the late payment was refunded")
    return order, amount


async def record_outside_refund(
    conn: asyncpg.Connection, order_id: UUID, refunded: int
) -> tuple[Outcome, asyncpg.Record | None, int]:
    """Note a refund made at the provider, now `refunded` in all, that the order lacks; what
    happened, and the order and the amount when something did."""
    order = await queries.fetch_order_row(conn, order_id, lock=True)
    if order is None or refunded <= order["refunded"] or refunded > order["total"]:
        return Outcome.ALREADY, None, 0
    amount = refunded - order["refunded"]
    done = refunded == order["total"]
    status = OrderStatus.REFUNDED if done else OrderStatus.PARTIALLY_REFUNDED
    await queries.insert_refund(conn, order_id, amount, "refunded at the payment provider", None)
    if order["status"] in orders.TRANSITIONS[status]:
        await orders.move_status(conn, order_id, status, f"refunded {amount} at the payment provider")
    await queries.set_payment(conn, order_id, PaymentStatus(status), refunded=refunded)
    return Outcome(status), order, amount


async def mark_paid(co: Checkout, order_id: UUID, note: str) -> OrderRecord:
    """Staff record a manual payment."""
    async with co.db.transaction() as conn:
        payment = await record_payment(conn, co, order_id, note)
        if payment.outcome == Outcome.REFUND:  # rolls the refund job back too: no money was taken here
            raise InvalidTransition("the order was cancelled and its stock is gone; do not take the payment")
    await payment.dispatch(co)
    return await order_views.staff_view(co.db, order_id)
