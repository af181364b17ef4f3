"""What the checkout component works with: built once by the app, and by the worker."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from ..catalog.interface import StockNotices
from ..platform.db import Database
from .access import OrderAccess
from .payments import Payments
from .sales import Sales


@dataclass(frozen=True)
class Pricing:
    currency: str
    shipping_rates: dict[str, int]
    tax_rates: dict[str, int]  # basis points
    reservation_ttl: int

    def totals(self, subtotal: int, country: str) -> dict[str, int]:
        shipping = self.shipping_rates.get(country, self.shipping_rates["default"])
        bps = self.tax_rates.get(country, self.tax_rates["default"])
        tax = ((subtotal + shipping) * bps + 5000) // 10000  # rounded half up
        return {"subtotal": subtotal, "shipping": shipping, "tax": tax, "total": subtotal + shipping + tax}


@dataclass(frozen=True)
class Checkout:
    db: Database
    queue: ArqRedis  # mail and outbox jobs, handed to the workers after a commit
    stock: StockNotices  # told, after each commit, of stock that moved: the catalog drops its copies
    payments: Payments
    pricing: Pricing
    cart_ttl: int
    access: OrderAccess
    sales: Sales  # the business counters
