"""The payment providers a shop's settings offer."""

from __future__ import annotations

from ..platform.settings import Settings
from .payments import Manual, Payments, Provider
from .stripe_provider import Stripe


def build_payments(settings: Settings) -> Payments:
    """Manual always; Stripe once its keys are set."""
    providers: dict[str, Provider] = {"manual": Manual()}
    stripe_key = settings.stripe_secret_key.get_secret_value()
    stripe_webhook = settings.stripe_webhook_secret.get_secret_value()
    if stripe_key and stripe_webhook:
        providers["stripe"] = Stripe(stripe_key, stripe_webhook, settings.stripe_api_base)
    return Payments(providers)
