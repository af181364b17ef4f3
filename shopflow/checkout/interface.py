"""What other components may call."""

from __future__ import annotations

from .carts import Caller, add_item, merge_guest_cart, open_cart, set_quantity, show_cart
from .context import Checkout
from .errors import (
    AddressNotInBook,
    CartClosed,
    CartItemNotFound,
    CartNotFound,
    EmptyCart,
    InvalidTransition,
    OutOfStock,
    ProviderRefused,
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
from .paying import confirm_payment, payment_step
from .paypal_provider import NotApproved
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
from .service import capture, checkout

__all__ = [
    "ERASED_EMAIL",
    "NOT_SHIPPED",
    "AddressNotInBook",
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
    "NotApproved",
    "Order",
    "OrderRecord",
    "OrderStatus",
    "OutOfStock",
    "PlacedRecord",
    "ProviderRefused",
    "ProviderUnavailable",
    "QuantityLimit",
    "RefundRecord",
    "UnavailableItems",
    "UnknownVariant",
    "add_item",
    "adopt_guest_orders",
    "anonymise_orders",
    "cancel",
    "capture",
    "checkout",
    "confirm_payment",
    "customer_orders",
    "customer_overview",
    "exported_orders",
    "merge_guest_cart",
    "open_cart",
    "open_cart_of",
    "payment_step",
    "set_quantity",
    "show_cart",
    "visible_order",
]
