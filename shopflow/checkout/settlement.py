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
from arq.connections import ArqRedis

from ..platform.db import Database, Executor
from ..platform.mail import enqueue_mail, queue_mail
from ..platform.outbox import enqueue_job, queue_job
from . import orders, queries
from .errors import InvalidTransition, OrderNotFound
from .payments import Payments, Provider
from .sales import PaymentFailure, RefundReason, Sales

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
    db: Database,
    queue: ArqRedis,
    sales: Sales,
    provider: Provider,
    ref: str,
    event: tuple[str, str] | None = None,
) -> str:
    """Bring the order paid through `ref` in line with what the provider says; with `event`
    (id, type), only once per event. What happened: "paid", "refund", "failed", ..."""
    state = await provider.status(ref)
    # the buyer agreed: take the money while the order still waits for it
    if state == "approved" and await queries.status_by_ref(db, provider.name, ref) == "pending_payment":
        await provider.capture(ref)
        state = await provider.status(ref)
    failed, payment = False, None
    async with db.transaction() as conn:
        if event is not None and not await queries.record_event(conn, provider.name, *event):
            return "replayed"
        order_id = await queries.order_by_ref(conn, provider.name, ref)
        if order_id is None:
            return "unknown"
        if state in ("failed", "cancelled"):
            failed = await fail_payment(conn, order_id, state)
        if state == "paid":
            payment = await record_payment(conn, order_id, f"paid through {provider.name}")
    if payment is None:
        if failed:
            sales.payment_failed(provider.name, PaymentFailure(state))
        return state
    await payment.dispatch(queue, sales)
    return payment.outcome


async def stripe_event(
    db: Database, queue: ArqRedis, sales: Sales, provider: Any, payload: bytes, signature: str
) -> str:
    """Apply a verified Stripe event (others are acknowledged and ignored)."""
    event = provider.event(payload, signature)
    if event.get("type") not in STRIPE_EVENTS or not isinstance(event.get("id"), str):
        return "ignored"
    obj = (event.get("data") or {}).get("object") or {}
    ref = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
    if not isinstance(ref, str):
        return "ignored"
    if event["type"] == "charge.refunded":
        refunded = obj.get("amount_refunded", 0)
        return await _refunded(db, sales, provider, ref, (event["id"], event["type"]), refunded)
    return await settle(db, queue, sales, provider, ref, (event["id"], event["type"]))


PAYPAL_EVENTS = frozenset(
    {
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.REFUNDED",
    }
)


async def paypal_event(
    db: Database, queue: ArqRedis, sales: Sales, provider: Any, payload: bytes, headers: Any
) -> str:
    """Apply a PayPal event that PayPal confirms it sent (others are acknowledged)."""
    event = await provider.event(payload, headers)
    kind = event.get("event_type")
    if kind not in PAYPAL_EVENTS or not isinstance(event.get("id"), str):
        return "ignored"
    resource = event.get("resource") or {}
    if kind == "CHECKOUT.ORDER.APPROVED":
        ref = resource.get("id")
    else:
        ref = (resource.get("supplementary_data") or {}).get("related_ids", {}).get("order_id")
    if not isinstance(ref, str):
        return "ignored"
    if kind == "PAYMENT.CAPTURE.REFUNDED":
        return await _refunded(db, sales, provider, ref, (event["id"], kind), await provider.refunded(ref))
    return await settle(db, queue, sales, provider, ref, (event["id"], kind))


async def _refunded(
    db: Database, sales: Sales, provider: Provider, ref: str, event: tuple[str, str], total: int
) -> str:
    """A refund made at the provider (say, from its dashboard) that the order does not know."""
    async with db.transaction() as conn:
        if not await queries.record_event(conn, provider.name, *event):
            return "replayed"
        order_id = await queries.order_by_ref(conn, provider.name, ref)
        if order_id is None:
            return "unknown"
        status, order, amount = await record_outside_refund(conn, order_id, int(total))
    if order is not None:
        sales.refunded(provider.name, order["currency"], amount, RefundReason.AT_PROVIDER)
    return status


async def refund_order(conn: Any, ctx: dict[str, Any], order_id: str) -> Callable[[], None] | None:
    """Outbox job: give back a payment that arrived for an order that cannot be filled; the
    count of it, for once the job has committed."""
    refunded = await refund_cancelled(conn, ctx["payments"], UUID(order_id))
    if refunded is None:
        return None
    order, amount = refunded
    sales: Sales = ctx["sales"]
    return partial(
        sales.refunded, order["payment_provider"], order["currency"], amount, RefundReason.LATE_PAYMENT
    )


async def reconcile(db: Database, queue: ArqRedis, sales: Sales, payments: Payments, minutes: int) -> int:
    """Ask the providers about orders whose payment news is late; how many changed."""
    changed = 0
    for row in await queries.unsettled_orders(db, minutes):
        try:
            provider = payments.get(row["payment_provider"])
            outcome = await settle(db, queue, sales, provider, row["payment_ref"])
        except Exception:
            log.warning("could not reconcile order %s", row["id"], exc_info=True)
            continue
        changed += outcome in ("paid", "refund")
    return changed


@dataclass(frozen=True)
class Payment:
    """What applying a payment did, and the work it left for the workers."""

    outcome: str  # "paid", "already" (nothing to do) or "refund" (the money goes back)
    mail_id: UUID | None = None  # the confirmation, in the mail outbox
    job_id: UUID | None = None  # the refund, in the job outbox
    order: asyncpg.Record | None = None  # the order the money came for, as it was

    async def dispatch(self, queue: ArqRedis, sales: Sales) -> None:
        """After the commit: count the money, and hand the mail and the job to the workers
        now (the relays would after a minute if this is lost)."""
        if self.order is not None:
            order = self.order
            sales.received(
                order["payment_provider"], order["currency"], order["total"], sold=self.outcome == "paid"
            )
        if self.mail_id is not None:
            await enqueue_mail(queue, self.mail_id)
        if self.job_id is not None:
            await enqueue_job(queue, self.job_id)


async def record_payment(conn: asyncpg.Connection, order_id: UUID, note: str) -> Payment:
    """Apply a successful payment, once. When the order was cancelled meanwhile and its stock
    is gone, the money must go back: a refund job is written."""
    order = await queries.fetch_order_row(conn, order_id, lock=True)
    if order is None:
        raise OrderNotFound("no such order")
    if order["payment_status"] in ("paid", "refunded", "partially_refunded"):
        return Payment("already")
    if order["status"] == "pending_payment":
        await queries.move_reservations(conn, order_id, "held", "committed")
        await orders.move_status(conn, order_id, "paid", note)
    elif (
        order["status"] == "cancelled"
        and order["payment_status"] == "pending"  # expired, not cancelled by anyone
        and await queries.take_released(conn, order_id)
    ):
        # paid after its reservation expired, and the stock is still there: sold after all
        await queries.set_status(conn, order_id, "paid", ["cancelled"])
        await queries.record_status(conn, order_id, "paid", f"{note}, after the reservation expired")
    else:  # the buyer cancelled, or the stock went to someone else: the money goes back
        await queries.set_payment(conn, order_id, "paid")
        await queries.add_history(
            conn, order_id, order["status"], f"{note} after the order closed; refunding"
        )
        return Payment("refund", job_id=await queue_job(conn, "refund_order", str(order_id)), order=order)
    await queries.set_payment(conn, order_id, "paid")
    subject = f"Order {order['number']} is confirmed"
    mail_id = await queue_mail(conn, order["email"], subject, _confirmation(order))
    return Payment("paid", mail_id=mail_id, order=order)


def _confirmation(order: asyncpg.Record) -> str:
    total = f"{order['total'] / 100:.2f} {order['currency']}"
    return (
        f"Thank you for your order {order['number']}.\n\nWe have your payment of {total} and will "
        "let you know when it ships.\n"
    )


async def refund_cancelled(
    conn: asyncpg.Connection, payments: Payments, order_id: UUID
) -> tuple[asyncpg.Record, int] | None:
    """Give back in full a payment that arrived for a closed order, once; the order and how
    much went back."""
    order = await queries.fetch_order_row(conn, order_id, lock=True)
    if order is None or order["status"] != "cancelled" or order["payment_status"] != "paid":
        return None
    provider = payments.get(order["payment_provider"])
    amount = await orders.refund_rest(
        conn, provider, order, f"late-{order_id}", "paid after the order closed"
    )
    await queries.add_history(conn, order_id, "cancelled", "the late payment was refunded")
    return order, amount


async def record_outside_refund(
    conn: asyncpg.Connection, order_id: UUID, refunded: int
) -> tuple[str, asyncpg.Record | None, int]:
    """Note a refund made at the provider, now `refunded` in all, that the order lacks; the
    order's new payment status, and the order and the amount when it changed."""
    order = await queries.fetch_order_row(conn, order_id, lock=True)
    if order is None or refunded <= order["refunded"] or refunded > order["total"]:
        return "already", None, 0
    amount = refunded - order["refunded"]
    status = "refunded" if refunded == order["total"] else "partially_refunded"
    await queries.insert_refund(conn, order_id, amount, "refunded at the payment provider", None)
    if order["status"] in orders.TRANSITIONS[status]:
        await orders.move_status(conn, order_id, status, f"refunded {amount} at the payment provider")
    await queries.set_payment(conn, order_id, status, refunded=refunded)
    return status, order, amount


async def fail_payment(db: Executor, order_id: UUID, status: str) -> bool:
    """Note a failed or cancelled payment; the order stays open until it expires. Whether
    this is news (the payment was pending)."""
    done = await db.execute(
        "UPDATE orders SET payment_status = $2, updated_at = now()"
        " WHERE id = $1 AND payment_status = 'pending'",
        order_id,
        status,
    )
    return done != "UPDATE 0"


async def mark_paid(db: Database, queue: ArqRedis, sales: Sales, order_id: UUID, note: str) -> None:
    """Staff record a manual payment."""
    async with db.transaction() as conn:
        payment = await record_payment(conn, order_id, note)
        if payment.outcome == "refund":  # rolls the refund job back too: no money was taken here
            raise InvalidTransition("the order was cancelled and its stock is gone; do not take the payment")
    await payment.dispatch(queue, sales)
