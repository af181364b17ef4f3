"""The payment providers a shop's settings offer."""

from __future__ import annotations

from ..platform.settings import Settings
from .payments import Manual, Payments, Provider
from .paypal_provider import PayPal
from .stripe_provider import Stripe


def build_payments(settings: Settings) -> Payments:
    """Manual always; Stripe and PayPal once their keys are set."""
    providers: dict[str, Provider] = {"manual": Manual()}
    stripe_key = settings.stripe_secret_key.get_secret_value()
    stripe_webhook = settings.stripe_webhook_secret.get_secret_value()
    if stripe_key and stripe_webhook:
        providers["stripe"] = Stripe(stripe_key, stripe_webhook, settings.stripe_api_base)
    paypal_secret = settings.paypal_client_secret.get_secret_value()
    if settings.paypal_client_id and paypal_secret and settings.paypal_webhook_id:
        providers["paypal"] = PayPal(
            settings.paypal_client_id,
            paypal_secret,
            settings.paypal_webhook_id,
            settings.paypal_api_base,
            settings.public_url,
        )
    return Payments(providers)
