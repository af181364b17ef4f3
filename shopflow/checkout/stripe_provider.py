"""Stripe: a PaymentIntent per order through the official SDK's async client, webhooks
verified with the endpoint's signing secret."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import stripe

from ..platform.errors import BadRequest, Unavailable
from .errors import ProviderRefused
from .models import ProviderState
from .payments import Charge, Started

TOLERANCE = 300  # seconds a webhook's signed timestamp may be off


class BadSignature(BadRequest):
    code = "bad_signature"
    title = "The webhook signature does not verify"


@contextlib.contextmanager
def _answers() -> Iterator[None]:
    """Stripe's refusals become 409 with its reason; its outages (and bad keys) 503."""
    try:
        yield
    except (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError) as e:
        raise ProviderRefused(f"Stripe refused: {e.user_message or e}") from None
    except stripe.StripeError as e:
        raise Unavailable("Stripe cannot be reached or failed; try again", retry_after=5) from e


class Stripe:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str, api_base: str) -> None:
        self.webhook_secret = webhook_secret
        self.http = stripe.AIOHTTPClient()  # the SDK's own non-blocking client
        self.client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base}, http_client=self.http, max_network_retries=2
        )
        self.intents = self.client.v1.payment_intents

    async def close(self) -> None:
        await self.http.close_async()  # type: ignore[no-untyped-call]

    async def start(self, charge: Charge) -> Started:
        with _answers():
            intent = await self.intents.create_async(
                params={
                    "amount": charge.amount,
                    "currency": charge.currency.lower(),
                    "metadata": {"order_id": str(charge.order_id), "order_number": charge.number},
                },
                options={"idempotency_key": f"order-{charge.order_id}"},  # a retry makes no second intent
            )
        return Started(ref=intent.id, client_secret=intent.client_secret)

    async def refund(self, ref: str | None, charge: Charge, amount: int, key: str) -> str | None:
        with _answers():
            refund = await self.client.v1.refunds.create_async(
                params={
                    "payment_intent": ref or "",
                    "amount": amount,
                    "metadata": {"order_id": str(charge.order_id)},
                },
                options={"idempotency_key": key},
            )
        return refund.id

    async def cancel(self, ref: str | None) -> None:
        if ref is None:
            return
        # succeeded or cancelled already: the reconcile job settles a late success
        with _answers(), contextlib.suppress(stripe.InvalidRequestError):
            await self.intents.cancel_async(ref)

    async def capture(self, ref: str) -> None:
        return None  # PaymentIntents capture automatically

    async def status(self, ref: str) -> ProviderState:
        with _answers():
            intent = await self.intents.retrieve_async(ref)
        if intent.status == "succeeded":
            return ProviderState.PAID
        if intent.status == "canceled":
            return ProviderState.CANCELLED
        return ProviderState.FAILED if intent.last_payment_error else ProviderState.PENDING

    async def payable(self, ref: str) -> Started:
        """The PaymentIntent's client_secret again, for Stripe.js on the pay step."""
        with _answers():
            intent = await self.intents.retrieve_async(ref)
        return Started(ref=intent.id, client_secret=intent.client_secret)

    def event(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The event, if Stripe signed it for our endpoint in the last five minutes."""
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self.webhook_secret, tolerance=TOLERANCE
            )
        except (ValueError, stripe.SignatureVerificationError) as e:
            raise BadSignature(f"the Stripe-Signature does not verify: {e}") from None
        return dict(event.to_dict())
