"""The buyer's side of paying an order already placed: what they pay it with on a later step
(Stripe's client_secret, PayPal's approve link, asked of the provider again), and where its
payment stands when they come back from paying (asked of the provider, as the reconcile job
does, so the order page need not wait for the webhook)."""

from __future__ import annotations

from uuid import UUID

from . import order_views, queries, settlement
from .carts import Caller
from .context import Checkout
from .models import OrderStatus, PaymentStatus
from .order_views import visible
from .records import OrderRecord, PaymentRecord


async def payment_step(co: Checkout, order_id: UUID, caller: Caller) -> PaymentRecord:
    """What the buyer pays the order with while it waits for payment; otherwise only where
    its payment stands. 404 for whoever may not see the order."""
    row = visible(await queries.fetch_order_row(co.db, order_id), caller)
    status = PaymentStatus(row["payment_status"])
    if row["status"] != OrderStatus.PENDING_PAYMENT or row["payment_ref"] is None:
        return PaymentRecord(row["payment_provider"], status)
    provider = co.payments.get(row["payment_provider"])
    started = await provider.payable(row["payment_ref"])
    return PaymentRecord(provider.name, status, started.client_secret, started.approve_url)


async def confirm_payment(co: Checkout, order_id: UUID, caller: Caller) -> OrderRecord:
    """The order, once its provider has been asked where a waiting payment stands."""
    row = visible(await queries.fetch_order_row(co.db, order_id), caller)
    if row["status"] == OrderStatus.PENDING_PAYMENT and row["payment_ref"] is not None:
        provider = co.payments.get(row["payment_provider"])
        await settlement.settle(co, provider, row["payment_ref"])
    return await order_views.visible_order(co.db, order_id, caller)
