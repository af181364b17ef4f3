"""What other components may call."""

from __future__ import annotations

from .carts import Caller, add_item, merge_guest_cart, open_cart, set_quantity, show_cart
from .context import Checkout
from .errors import (
    CartClosed,
    CartItemNotFound,
    CartNotFound,
    EmptyCart,
    InvalidTransition,
    OutOfStock,
    ProviderUnavailable,
    QuantityLimit,
    UnavailableItems,
    UnknownVariant,
)
from .history import (
    CustomerOrderPage,
    CustomerOverview,
    adopt_guest_orders,
    customer_orders,
    customer_overview,
)
from .models import Cart, CheckoutRequest, Order, OrderStatus
from .order_views import visible_order
from .orders import NOT_SHIPPED, cancel
from .privacy import (
    ERASED_EMAIL,
    ErasedOrders,
    ExportedOrderRecord,
    RefundRecord,
    anonymise_orders,
    exported_orders,
    open_cart_of,
)
from .records import CartRecord, Money, OrderRecord, PlacedRecord
from .service import checkout

__all__ = [
    "ERASED_EMAIL",
    "NOT_SHIPPED",
    "Caller",
    "Cart",
    "CartClosed",
    "CartItemNotFound",
    "CartNotFound",
    "CartRecord",
    "Checkout",
    "CheckoutRequest",
    "CustomerOrderPage",
    "CustomerOverview",
    "EmptyCart",
    "ErasedOrders",
    "ExportedOrderRecord",
    "InvalidTransition",
    "Money",
    "Order",
    "OrderRecord",
    "OrderStatus",
    "OutOfStock",
    "PlacedRecord",
    "ProviderUnavailable",
    "QuantityLimit",
    "RefundRecord",
    "UnavailableItems",
    "UnknownVariant",
    "add_item",
    "adopt_guest_orders",
    "anonymise_orders",
    "cancel",
    "checkout",
    "customer_orders",
    "customer_overview",
    "exported_orders",
    "merge_guest_cart",
    "open_cart",
    "open_cart_of",
    "set_quantity",
    "show_cart",
    "visible_order",
]
