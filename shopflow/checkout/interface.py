"""What other components may call."""

from __future__ import annotations

from .carts import merge_guest_cart

__all__ = ["merge_guest_cart"]

# A customer's own orders: their history, the dashboard's summary, guest orders joining an account.
from .history import (
    CustomerOrderPage,
    CustomerOrderRecord,
    CustomerOverview,
    OrderedLineRecord,
    adopt_guest_orders,
    customer_orders,
    customer_overview,
)
from .models import OrderStatus
from .records import Money

__all__ += [
    "CustomerOrderPage",
    "CustomerOrderRecord",
    "CustomerOverview",
    "Money",
    "OrderStatus",
    "OrderedLineRecord",
    "adopt_guest_orders",
    "customer_orders",
    "customer_overview",
]
