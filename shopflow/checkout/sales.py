"""What the shop sells, as Prometheus counters, counted once the change has committed:

    orders_placed_total{provider}                 orders placed (stock held)
    orders_paid_total{provider}                   orders that became paid
    orders_cancelled_total{reason}                buyer, staff, expired, payment_not_started
    order_refunds_total{provider,reason}          staff, cancelled, late_payment, at_provider
    revenue_minor_units_total{currency}           money taken, in minor units (cents)
    refunded_minor_units_total{currency}          money given back, in minor units
    payment_failures_total{provider,reason}       failed, cancelled, not_started
    checkout_out_of_stock_total                   checkouts refused: a SKU was short

Labels come from fixed sets (a provider the shop does not offer is "other"), so the series
stay few. Each process counts what it did: a web process what requests did, a worker what
its jobs did; Prometheus sums them over its targets.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from ..platform.metrics import Metrics


class CancelReason(StrEnum):
    BUYER = "buyer"
    STAFF = "staff"
    EXPIRED = "expired"
    PAYMENT_NOT_STARTED = "payment_not_started"


class RefundReason(StrEnum):
    STAFF = "staff"
    CANCELLED = "cancelled"  # a paid order cancelled
    LATE_PAYMENT = "late_payment"  # money that came for an order already closed
    AT_PROVIDER = "at_provider"  # made in the provider's dashboard


class PaymentFailure(StrEnum):
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_STARTED = "not_started"  # the provider could not be reached at checkout


class Sales:
    """The business counters of one process."""

    def __init__(self, metrics: Metrics, providers: Iterable[str], currency: str) -> None:
        self.providers = frozenset(providers)
        self._placed = metrics.counter("orders_placed", "Orders placed (stock held)", ("provider",))
        self._paid = metrics.counter("orders_paid", "Orders that became paid", ("provider",))
        self._cancelled = metrics.counter("orders_cancelled", "Orders cancelled, and why", ("reason",))
        self._refunds = metrics.counter(
            "order_refunds", "Refunds made, in part or in full, and why", ("provider", "reason")
        )
        self._revenue = metrics.counter(
            "revenue_minor_units",
            "Money taken in payments, in minor units of the currency (cents for USD); what goes"
            " back is in refunded_minor_units_total",
            ("currency",),
        )
        self._refunded = metrics.counter(
            "refunded_minor_units", "Money given back, in minor units of the currency", ("currency",)
        )
        self._failures = metrics.counter(
            "payment_failures",
            "Payments that failed, were cancelled or could not start",
            ("provider", "reason"),
        )
        self._out_of_stock = metrics.counter(
            "checkout_out_of_stock", "Checkouts refused because a SKU was short (409 out_of_stock)"
        ).values
        # every series from zero, so that rates and alerts see them before the first event
        self._out_of_stock[()] += 0
        self._revenue.inc(currency, amount=0)
        self._refunded.inc(currency, amount=0)
        for reason in CancelReason:
            self._cancelled.inc(reason, amount=0)
        for provider in self.providers:
            self._placed.inc(provider, amount=0)
            self._paid.inc(provider, amount=0)
            for refund in RefundReason:
                self._refunds.inc(provider, refund, amount=0)
            for failure in PaymentFailure:
                self._failures.inc(provider, failure, amount=0)

    def _provider(self, name: str) -> str:
        return name if name in self.providers else "other"

    def placed(self, provider: str) -> None:
        self._placed.inc(self._provider(provider))

    def out_of_stock(self) -> None:
        self._out_of_stock[()] += 1

    def received(self, provider: str, currency: str, amount: int, *, sold: bool) -> None:
        """Money came in: for an order now paid (`sold`), or for one that had closed (it
        goes back, counted then as a refund)."""
        if sold:
            self._paid.inc(self._provider(provider))
        self._revenue.inc(currency, amount=amount)

    def cancelled(self, reason: CancelReason, orders: int = 1) -> None:
        self._cancelled.inc(reason, amount=orders)

    def refunded(self, provider: str, currency: str, amount: int, reason: RefundReason) -> None:
        self._refunds.inc(self._provider(provider), reason)
        self._refunded.inc(currency, amount=amount)

    def payment_failed(self, provider: str, reason: PaymentFailure) -> None:
        self._failures.inc(self._provider(provider), reason)
