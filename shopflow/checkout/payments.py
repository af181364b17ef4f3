"""Payment providers behind one interface.

A provider starts a payment for an order (answering what the buyer needs to pay: a Stripe
`client_secret`, a PayPal `approve_url`, or nothing for `manual`), refunds, and says where a
payment stands when the reconcile job asks. Providers without their keys are not offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from .errors import ProviderUnavailable
from .models import ProviderState


@dataclass(frozen=True)
class Charge:
    """What a provider is asked to take: the order, its amount and currency."""

    order_id: UUID
    number: str
    amount: int
    currency: str
    email: str


@dataclass(frozen=True)
class Started:
    ref: str | None  # the provider's id for the payment
    client_secret: str | None = None
    approve_url: str | None = None


class Provider(Protocol):
    name: str

    async def start(self, charge: Charge) -> Started:
        """Start the order's payment. A second start for the same order answers the first
        (the request's idempotency key is the order's): a checkout resumed after a crash
        starts it again to learn what the buyer pays with."""
        ...

    async def refund(self, ref: str | None, charge: Charge, amount: int, key: str) -> str | None:
        """Give `amount` back; the provider's refund id. `key` makes a retry refund once."""
        ...

    async def cancel(self, ref: str | None) -> None: ...

    async def capture(self, ref: str) -> None:
        """Take money the buyer approved (PayPal); the others capture by themselves."""
        ...

    async def status(self, ref: str) -> ProviderState: ...

    async def payable(self, ref: str) -> Started:
        """What the buyer pays a started payment with, asked again (a later pay step, a retry)."""
        ...


class Manual:
    """No keys and no money moving: staff mark orders paid (the embedded default, demos)."""

    name = "manual"

    async def start(self, charge: Charge) -> Started:
        return Started(ref=None)

    async def refund(self, ref: str | None, charge: Charge, amount: int, key: str) -> str | None:
        return None  # paid back by hand

    async def cancel(self, ref: str | None) -> None:
        return None

    async def capture(self, ref: str) -> None:
        return None

    async def status(self, ref: str) -> ProviderState:
        return ProviderState.PENDING  # only staff know

    async def payable(self, ref: str) -> Started:
        return Started(ref=None)


class Payments:
    """The providers this shop offers."""

    def __init__(self, providers: dict[str, Provider]) -> None:
        self.providers = providers

    async def close(self) -> None:
        for provider in self.providers.values():
            if close := getattr(provider, "close", None):
                await close()

    def get(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise ProviderUnavailable(
                f"payment through {name} is not available in this shop",
                errors=[
                    {"field": "payment_provider", "message": f"one of {', '.join(sorted(self.providers))}"}
                ],
            ) from None
