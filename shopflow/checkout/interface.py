"""What other components may call."""

from __future__ import annotations

from .carts import merge_guest_cart
from .context import Checkout
from .models import Cart, Order
from .privacy import (
    ERASED_EMAIL,
    CustomerOrderRecord,
    ErasedOrders,
    RefundRecord,
    anonymise_orders,
    customer_orders,
    open_cart_of,
)

__all__ = [
    "ERASED_EMAIL",
    "Cart",
    "Checkout",
    "CustomerOrderRecord",
    "ErasedOrders",
    "Order",
    "RefundRecord",
    "anonymise_orders",
    "customer_orders",
    "merge_guest_cart",
    "open_cart_of",
]
