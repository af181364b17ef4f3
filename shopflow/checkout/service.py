"""The checkout operations that combine several steps: placing an order and starting its
payment, capturing an approved payment, and applying the providers' webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.errors import NotFound, Unavailable
from ..platform.idempotency import Claim
from . import order_views, orders, settlement
from .carts import Caller
from .context import Checkout
from .errors import AddressNotInBook, OutOfStock
from .models import CheckoutRequest, OrderStatus, PaymentStatus
from .payments import Provider
from .records import OrderRecord, PaymentRecord, PlacedRecord
from .sales import CancelReason, PaymentFailure


async def checkout(
    co: Checkout, cart_id: UUID, caller: Caller, request: CheckoutRequest, claim: Claim | None
) -> PlacedRecord:
    """Place the order, holding its stock, and start its payment. A payment that cannot
    start gives everything back (the order cancelled, its cart open again): 503, retry."""
    provider = co.payments.get(request.payment_provider)  # 422 before anything is held
    values = await _with_book_addresses(co, caller, request)
    try:
        placed = await orders.place_order(co, cart_id, caller, values, claim)
    except OutOfStock:
        co.sales.out_of_stock()
        raise
    co.sales.placed(provider.name)
    payment = await _start_payment(co, provider, placed.order, claim)
    return PlacedRecord(placed.document, payment, placed.token)


async def _with_book_addresses(co: Checkout, caller: Caller, request: CheckoutRequest) -> dict[str, Any]:
    """The request as the order takes it: addresses named by id copied from the caller's
    address book (the order keeps the copy, whatever the book does later); an id that is not
    in a signed-in caller's book is 404."""
    # Users imports checkout's interface for its records: users' is imported when first used,
    # so that no import cycle forms.
    from ..users import interface as users

    values = request.model_dump(exclude={"shipping_address_id", "billing_address_id"})
    for field, address_id in (
        ("shipping_address", request.shipping_address_id),
        ("billing_address", request.billing_address_id),
    ):
        if address_id is None:
            continue
        found = None
        if caller.user_id is not None:
            found = await users.book_address(co.db, caller.user_id, address_id)
        if found is None:
            raise AddressNotInBook(f"no address {address_id} in your address book (sign in to use yours)")
        values[field] = found.model_dump()
    return values


async def resume_checkout(co: Checkout, order_id: UUID, claim: Claim) -> PlacedRecord:
    """Answer a checkout whose process died after placing the order, as it would have: the
    order, with its payment started if it still waits for one (the provider's key for the
    order makes a second start return the first), and a guest's secret. Counted as placed
    by the process that placed it."""
    placed = await orders.placed_again(co, order_id)
    provider = co.payments.get(placed.order["payment_provider"])
    if placed.order["status"] == OrderStatus.PENDING_PAYMENT:
        payment = await _start_payment(co, provider, placed.order, claim)
    else:  # expired or settled meanwhile: nothing to pay
        payment = PaymentRecord(provider.name, PaymentStatus(placed.order["payment_status"]))
    return PlacedRecord(placed.document, payment, placed.token)


async def _start_payment(
    co: Checkout, provider: Provider, order: asyncpg.Record, claim: Claim | None
) -> PaymentRecord:
    try:
        started = await provider.start(orders.charge_of(order))
    except Exception as e:
        await orders.abandon(co, order["id"], f"the payment could not be started: {e}", claim)
        co.sales.cancelled(CancelReason.PAYMENT_NOT_STARTED)
        co.sales.payment_failed(provider.name, PaymentFailure.NOT_STARTED)
        raise Unavailable("the payment provider did not answer; nothing was charged, try again") from e
    if started.ref is not None:
        await orders.attach_payment(co.db, order["id"], started.ref)
    return PaymentRecord(provider.name, PaymentStatus.PENDING, started.client_secret, started.approve_url)


async def capture(co: Checkout, order_id: UUID, caller: Caller, claim: Claim | None) -> OrderRecord:
    """Take a PayPal payment the buyer approved, while the order still waits for it. The
    request's Idempotency-Key names the order once the payment is recorded: a retry after a
    crash answers the order, and PayPal captures once whatever comes before."""
    ref = await orders.payment_to_capture(co.db, order_id, caller)
    provider = co.payments.get("paypal")
    await provider.capture(ref)
    await settlement.settle(co, provider, ref, claim=claim)
    return await order_views.visible_order(co.db, order_id, caller)


async def order_now(co: Checkout, order_id: UUID, caller: Caller) -> OrderRecord:
    """The order as it is now, for a retry of a request that changed it and died before answering."""
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
