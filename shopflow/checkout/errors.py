"""The checkout component's errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..platform.errors import Conflict, Invalid, NotFound


class CartNotFound(NotFound):
    code = "cart_not_found"
    title = "Cart not found"


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"
    title = "Cart item not found"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class UnknownVariant(Invalid):
    code = "unknown_variant"
    title = "No such variant for sale"


class QuantityLimit(Invalid):
    code = "quantity_limit"
    title = "At most 99 of a variant per cart"


class EmptyCart(Invalid):
    code = "empty_cart"
    title = "The cart is empty"


class UnavailableItems(Conflict):
    code = "items_unavailable"
    title = "Some items are no longer for sale"


class CartClosed(Conflict):
    code = "cart_checked_out"
    title = "The cart has been checked out"


class ProviderUnavailable(Invalid):
    code = "payment_provider_unavailable"
    title = "The payment provider is not available"


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int


class OutOfStock(Conflict):
    code = "out_of_stock"
    title = "Not enough stock"

    def __init__(self, short: list[Shortage]) -> None:
        self.short = short
        skus = ", ".join(f"{s.sku} ({s.available} available)" for s in short)
        super().__init__(f"not enough stock for {skus}", extra={"short": [asdict(s) for s in short]})


class InvalidTransition(Conflict):
    code = "invalid_order_state"
    title = "The order cannot make this change in its current state"


class RefundTooLarge(Invalid):
    code = "refund_exceeds_paid"
    title = "The refund is larger than what is left to refund"


class ProviderRefused(Conflict):
    code = "payment_provider_refused"
    title = "The payment provider refused the request"


class AddressNotInBook(NotFound):
    code = "address_not_found"
    title = "No such address in your address book"
