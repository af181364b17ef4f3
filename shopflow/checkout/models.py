"""The checkout component's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, JsonValue, field_validator

from ..platform.countries import COUNTRIES
from ..platform.endpoint import Body, Query
from ..platform.models import CURSOR, MoneyOut, Page

Provider = Literal["stripe", "paypal", "manual"]
OrderStatus = Literal[
    "pending_payment", "paid", "fulfilled", "delivered", "cancelled", "refunded", "partially_refunded"
]
EMAIL = r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$"
COUNTRY_CODES: list[JsonValue] = [*sorted(COUNTRIES)]


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


class Address(Body):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(
        description="ISO 3166-1 alpha-2, e.g. US",
        json_schema_extra={"enum": COUNTRY_CODES},
    )
    phone: str | None = Field(None, pattern=r"^\+?[0-9 ()./-]{4,32}$")

    @field_validator("country")
    @classmethod
    def _iso_country(cls, v: str) -> str:
        if v not in COUNTRIES:
            raise ValueError("must be an ISO 3166-1 alpha-2 code such as US or DE")
        return v


class CheckoutRequest(Body):
    email: str = Field(pattern=EMAIL, max_length=254)
    shipping_address: Address
    billing_address: Address | None = None
    payment_provider: Provider


class Payment(BaseModel):
    provider: Provider
    status: str
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
    status: str
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
