"""What other components may call."""

from __future__ import annotations

from .carts import merge_guest_cart
from .context import Checkout
from .history import (
    CustomerOrderPage,
    CustomerOverview,
    adopt_guest_orders,
    customer_orders,
    customer_overview,
)
from .models import Cart, Order, OrderStatus
from .privacy import (
    ERASED_EMAIL,
    ErasedOrders,
    ExportedOrderRecord,
    RefundRecord,
    anonymise_orders,
    exported_orders,
    open_cart_of,
)
from .records import Money

__all__ = [
    "ERASED_EMAIL",
    "Cart",
    "Checkout",
    "CustomerOrderPage",
    "CustomerOverview",
    "ErasedOrders",
    "ExportedOrderRecord",
    "Money",
    "Order",
    "OrderStatus",
    "RefundRecord",
    "adopt_guest_orders",
    "anonymise_orders",
    "customer_orders",
    "customer_overview",
    "exported_orders",
    "merge_guest_cart",
    "open_cart_of",
]
