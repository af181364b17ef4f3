"""Payments settled by the providers: webhooks and the reconcile job share `settle`.

A webhook event is recorded under a unique key in the transaction of its effect, so a
replay changes nothing; the payment's state is fetched from the provider rather than read
from the event, so events arriving out of order cannot move an order backwards.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis

from ..platform.db import Database
from . import orders, queries
from .payments import Provider

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
    db: Database, queue: ArqRedis, provider: Provider, ref: str, event: tuple[str, str] | None = None
) -> str:
    """Bring the order paid through `ref` in line with what the provider says; with `event`
    (id, type), only once per event. What happened: "paid", "refund", "failed", ..."""
    state = await provider.status(ref)
    async with db.transaction() as conn:
        if event is not None and not await queries.record_event(conn, provider.name, *event):
            return "replayed"
        order_id = await queries.order_by_ref(conn, provider.name, ref)
        if order_id is None:
            return "unknown"
        if state in ("failed", "cancelled"):
            await orders.fail_payment(conn, order_id, state)
        if state != "paid":
            return state
        payment = await orders.record_payment(conn, order_id, f"paid through {provider.name}")
    await payment.dispatch(queue)
    return payment.outcome


async def stripe_event(db: Database, queue: ArqRedis, provider: Any, payload: bytes, signature: str) -> str:
    """Apply a verified Stripe event (others are acknowledged and ignored)."""
    event = provider.event(payload, signature)
    if event.get("type") not in STRIPE_EVENTS:
        return "ignored"
    obj = event["data"]["object"]
    ref = obj["id"] if obj.get("object") == "payment_intent" else obj.get("payment_intent")
    if not ref:
        return "ignored"
    if event["type"] == "charge.refunded":
        return await _refunded(db, provider, ref, (event["id"], event["type"]), obj.get("amount_refunded", 0))
    return await settle(db, queue, provider, ref, (event["id"], event["type"]))


PAYPAL_EVENTS = frozenset(
    {
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.REFUNDED",
    }
)


async def paypal_event(db: Database, queue: ArqRedis, provider: Any, payload: bytes, headers: Any) -> str:
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
        return await _refunded(db, provider, ref, (event["id"], kind), await provider.refunded(ref))
    return await settle(db, queue, provider, ref, (event["id"], kind))


async def _refunded(db: Database, provider: Provider, ref: str, event: tuple[str, str], total: int) -> str:
    """A refund made at the provider (say, from its dashboard) that the order does not know."""
    async with db.transaction() as conn:
        if not await queries.record_event(conn, provider.name, *event):
            return "replayed"
        order_id = await queries.order_by_ref(conn, provider.name, ref)
        if order_id is None:
            return "unknown"
        return await orders.record_outside_refund(conn, order_id, int(total))


async def refund_order(conn: Any, ctx: dict[str, Any], order_id: str) -> None:
    """Outbox job: give back a payment that arrived for an order that cannot be filled."""
    await orders.refund_cancelled(conn, ctx["payments"], UUID(order_id))


async def reconcile(db: Database, queue: ArqRedis, payments: Any, minutes: int) -> int:
    """Ask the providers about orders whose payment news is late; how many changed."""
    changed = 0
    for row in await queries.unsettled_orders(db, minutes):
        try:
            outcome = await settle(db, queue, payments.get(row["payment_provider"]), row["payment_ref"])
        except Exception:
            log.warning("could not reconcile order %s", row["id"], exc_info=True)
            continue
        changed += outcome in ("paid", "refund")
    return changed
