"""The checkout operations that combine several steps: placing an order and starting its
payment, capturing an approved payment, and applying the providers' webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from ..platform.errors import NotFound, Unavailable
from . import order_views, orders, settlement
from .carts import Caller
from .context import Checkout
from .errors import OutOfStock
from .models import CheckoutRequest, PaymentStatus
from .records import OrderRecord, PaymentRecord, PlacedRecord
from .sales import CancelReason, PaymentFailure


async def checkout(co: Checkout, cart_id: UUID, caller: Caller, request: CheckoutRequest) -> PlacedRecord:
    """Place the order, holding its stock, and start its payment. A payment that cannot
    start gives everything back (the order cancelled, its cart open again): 503, retry."""
    provider = co.payments.get(request.payment_provider)  # 422 before anything is held
    try:
        placed = await orders.place_order(co, cart_id, caller, request.model_dump())
    except OutOfStock:
        co.sales.out_of_stock()
        raise
    co.sales.placed(provider.name)
    order_id = placed.order["id"]
    try:
        started = await provider.start(orders.charge_of(placed.order))
    except Exception as e:
        await orders.abandon(co, order_id, f"the payment could not be started: {e}")
        co.sales.cancelled(CancelReason.PAYMENT_NOT_STARTED)
        co.sales.payment_failed(provider.name, PaymentFailure.NOT_STARTED)
        raise Unavailable("the payment provider did not answer; nothing was charged, try again") from e
    if started.ref is not None:
        await orders.attach_payment(co.db, order_id, started.ref)
    payment = PaymentRecord(provider.name, PaymentStatus.PENDING, started.client_secret, started.approve_url)
    return PlacedRecord(placed.document, payment, placed.token)


async def capture(co: Checkout, order_id: UUID, caller: Caller) -> OrderRecord:
    """Take a PayPal payment the buyer approved, while the order still waits for it."""
    ref = await orders.payment_to_capture(co.db, order_id, caller)
    provider = co.payments.get("paypal")
    await provider.capture(ref)
    await settlement.settle(co, provider, ref)
    return await order_views.visible_order(co.db, order_id, caller)


async def stripe_webhook(co: Checkout, payload: bytes, signature: str) -> str:
    """Apply a Stripe event; what it did."""
    provider = co.payments.providers.get("stripe")
    if provider is None:
        raise NotFound("Stripe is not set up in this shop")
    return await settlement.stripe_event(co, provider, payload, signature)


async def paypal_webhook(co: Checkout, payload: bytes, headers: Mapping[str, str]) -> str:
    """Apply a PayPal event; what it did."""
    provider = co.payments.providers.get("paypal")
    if provider is None:
        raise NotFound("PayPal is not set up in this shop")
    return await settlement.paypal_event(co, provider, payload, headers)
