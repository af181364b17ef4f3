"""The users component's request and response models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from ..auth.interface import AccountRecord
from ..checkout.interface import CustomerOrderRecord, Money, OrderStatus
from ..platform.endpoint import Query
from ..platform.models import CURSOR, MoneyOut, Page

# Order history and the dashboard


class OrderedLine(BaseModel):
    name: str
    sku: str
    quantity: int


class OrderTotals(BaseModel):
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    refunded: MoneyOut


class CustomerOrder(BaseModel):
    id: UUID = Field(description="GET /api/v1/orders/{id} has the whole order")
    number: str
    status: OrderStatus
    totals: OrderTotals
    placed_at: datetime
    lines: list[OrderedLine]


class CustomerOrderPage(Page):
    items: list[CustomerOrder]


class CustomerOrdersQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, pattern=CURSOR, description="`next_cursor` of a page")


class DashboardUser(BaseModel):
    id: UUID
    email: str
    name: str
    email_verified: bool
    role: Literal["customer", "staff", "admin"]
    created_at: datetime


class Dashboard(BaseModel):
    user: DashboardUser
    recent_orders: list[CustomerOrder] = Field(description="the 5 latest, newest first")
    orders_count: int
    open_orders_count: int = Field(description="orders waiting for payment, to ship, or on the way")
    lifetime_spend: MoneyOut = Field(description="paid, less what was refunded, in the shop's currency")
    wishlist_count: int
    default_address: dict[str, str | None] | None = Field(description="the default shipping address")


@dataclass(frozen=True, slots=True)
class DashboardRecord:
    user: AccountRecord
    recent_orders: tuple[CustomerOrderRecord, ...]
    orders_count: int
    open_orders_count: int
    lifetime_spend: Money
    wishlist_count: int
    default_address: dict[str, str | None] | None
