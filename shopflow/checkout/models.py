"""The checkout component's request and response models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from ..platform.addresses import Address
from ..platform.endpoint import Body, Query
from ..platform.models import CURSOR, MoneyOut, Page

Provider = Literal["stripe", "paypal", "manual"]


class CartStatus(StrEnum):
    OPEN = "open"
    CHECKED_OUT = "checked_out"
    MERGED = "merged"


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    """The order's payment, as the order records it."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class ProviderState(StrEnum):
    """Where a payment stands at its provider."""

    PENDING = "pending"
    APPROVED = "approved"  # the buyer agreed; it waits for capture (PayPal)
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Reservation(StrEnum):
    HELD = "held"  # units set aside for an unpaid order
    COMMITTED = "committed"  # sold
    RELEASED = "released"  # back for sale


class Outcome(StrEnum):
    """What applying a payment, a provider's event or the reconcile job's question did."""

    PAID = "paid"
    REFUND = "refund"  # money for an order that cannot be filled: it goes back
    ALREADY = "already"  # nothing left to do
    REPLAYED = "replayed"  # an event applied before
    UNKNOWN = "unknown"  # no order of ours
    IGNORED = "ignored"  # an event we do not act on
    PENDING = "pending"
    APPROVED = "approved"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


EMAIL = r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$"


class NewItem(Body):
    variant_id: UUID
    quantity: int = Field(ge=1, le=99)


class ItemQuantity(Body):
    quantity: int = Field(ge=0, le=99, description="0 removes the item")


class CartItem(BaseModel):
    id: UUID
    variant_id: UUID
    product_id: UUID
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    line_total: MoneyOut
    available: bool = Field(description="for sale, with enough stock for the quantity")
    stock_available: int


class Cart(BaseModel):
    id: UUID
    items: list[CartItem]
    subtotal: MoneyOut
    total: MoneyOut
    currency: str
    item_count: int
    expires_at: datetime


class CheckoutRequest(Body):
    email: str = Field(pattern=EMAIL, max_length=254)
    shipping_address: Address | None = Field(None, description="this, or `shipping_address_id`")
    shipping_address_id: UUID | None = Field(
        None, description="an address of the signed-in caller's book, copied into the order"
    )
    billing_address: Address | None = Field(None, description="absent: the shipping address")
    billing_address_id: UUID | None = Field(None, description="an address of the caller's book")
    payment_provider: Provider

    @model_validator(mode="after")
    def _one_of_each(self) -> CheckoutRequest:
        if (self.shipping_address is None) == (self.shipping_address_id is None):
            raise ValueError("give exactly one of shipping_address and shipping_address_id")
        if self.billing_address is not None and self.billing_address_id is not None:
            raise ValueError("give at most one of billing_address and billing_address_id")
        return self


class Payment(BaseModel):
    provider: Provider
    status: PaymentStatus
    client_secret: str | None = None
    approve_url: str | None = None


class OrderLine(BaseModel):
    variant_id: UUID | None
    sku: str
    name: str
    unit_price: MoneyOut
    quantity: int
    line_total: MoneyOut


class Totals(BaseModel):
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    refunded: MoneyOut


class HistoryEntry(BaseModel):
    status: OrderStatus
    at: datetime
    note: str


class Shipment(BaseModel):
    carrier: str
    tracking_number: str
    at: datetime


class Order(BaseModel):
    id: UUID
    number: str
    status: OrderStatus
    email: str
    items: list[OrderLine]
    totals: Totals
    shipping_address: dict[str, str | None]
    billing_address: dict[str, str | None]
    payment: Payment
    history: list[HistoryEntry]
    shipments: list[Shipment]
    created_at: datetime


class DroppedLine(BaseModel):
    sku: str
    name: str


class MergedCart(Cart):
    dropped: list[DroppedLine] = Field(description="guest cart lines no longer for sale, left out")


class WebhookReceipt(BaseModel):
    received: bool
    outcome: str


class Placed(BaseModel):
    order: Order
    payment: Payment
    order_token: str | None = Field(
        description="a guest order's secret, answered only here (and in the confirmation mail's"
        " link): send it as `?token=` or `X-Order-Token` to see or cancel the order; null for"
        " a signed-in buyer's order"
    )


class OrderAccess(Query):
    token: str | None = Field(
        None, max_length=100, description="a guest order's secret (or the X-Order-Token header)"
    )


class Fulfil(Body):
    carrier: str = Field(min_length=1, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=100)


class Refund(Body):
    amount: int | None = Field(None, ge=1, le=10**12, description="minor units; absent: all that is left")
    reason: str = Field("", max_length=500)


class OrderFilter(Query):
    status: OrderStatus | None = None
    created_from: datetime | None = Field(None, alias="from")
    created_to: datetime | None = Field(None, alias="to")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, pattern=CURSOR, description="`next_cursor` of a page")


class OrderSummary(BaseModel):
    id: UUID
    number: str
    status: OrderStatus
    email: str
    total: MoneyOut
    created_at: datetime


class OrderPage(Page):
    items: list[OrderSummary]


class EventFeed(Query):
    cursor: str | None = Field(None, max_length=200, pattern=CURSOR, description="where the last page ended")
    limit: int = Field(100, ge=1, le=1000)


class OrderEvent(BaseModel):
    id: int
    type: str = Field(description="order.placed, order.paid, order.fulfilled, ...")
    order_id: UUID
    note: str
    created_at: datetime


class EventPage(BaseModel):
    items: list[OrderEvent]
    next_cursor: str = Field(description="always set: poll again from here")
