"""What the checkout service answers: frozen records, serialised as they are (orjson knows
dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from .models import OrderStatus, PaymentStatus


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    variant_id: UUID | None
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    status: OrderStatus
    at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    carrier: str
    tracking_number: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    provider: str
    status: PaymentStatus
    client_secret: str | None = None  # what the buyer pays with, answered at checkout only
    approve_url: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: UUID
    number: str
    status: OrderStatus
    email: str
    items: tuple[OrderLineRecord, ...]
    totals: dict[str, Money]  # subtotal, shipping, tax, total, refunded
    shipping_address: dict[str, str | None]
    billing_address: dict[str, str | None]
    payment: PaymentRecord
    history: tuple[HistoryRecord, ...]
    shipments: tuple[ShipmentRecord, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PlacedRecord:
    order: OrderRecord
    payment: PaymentRecord
    order_token: str | None


@dataclass(frozen=True, slots=True)
class OrderSummaryRecord:
    id: UUID
    number: str
    status: OrderStatus
    email: str
    total: Money
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrderPageRecord:
    items: tuple[OrderSummaryRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class OrderEventRecord:
    id: int
    type: str
    order_id: UUID
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventPageRecord:
    items: tuple[OrderEventRecord, ...]
    next_cursor: str


@dataclass(frozen=True, slots=True)
class CartLineRecord:
    id: UUID
    variant_id: UUID
    product_id: UUID
    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    available: bool  # for sale, with enough stock for the quantity
    stock_available: int


@dataclass(frozen=True, slots=True)
class CartRecord:
    id: UUID
    items: tuple[CartLineRecord, ...]
    subtotal: Money
    total: Money
    currency: str
    item_count: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DroppedRecord:
    sku: str
    name: str


@dataclass(frozen=True, slots=True)
class MergedCartRecord(CartRecord):
    dropped: tuple[DroppedRecord, ...]  # lines of the guest cart no longer for sale
