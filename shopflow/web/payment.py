"""What the checkout and pay pages share about paying: which ways are offered, where each
step is, and the Content-Security-Policy that lets a provider's origin in where it is needed."""

from __future__ import annotations

import re
from urllib.parse import urlencode
from uuid import UUID

from ..checkout.interface import Checkout
from ..platform.settings import Settings
from .render import content_security_policy

STRIPE_HOOKS = "https://hooks.stripe.com"  # Stripe's 3-D Secure frames, beside js.stripe.com's


def origin(url: str) -> str:
    return "/".join(url.split("/")[:3])


def stripe_ready(settings: Settings, co: Checkout) -> bool:
    """Card payment on the storefront: Stripe set up, and the key Stripe.js needs."""
    return "stripe" in co.payments.providers and bool(settings.stripe_publishable_key)


def paypal_site(settings: Settings) -> str:
    """The origin PayPal's approve pages are on: www beside its api-m host (sandbox too); a
    local PayPal serves both from one origin."""
    return re.sub(r"://api(-m)?\.", "://www.", origin(settings.paypal_api_base))


def checkout_security_policy(settings: Settings, co: Checkout) -> str:
    """The checkout page's CSP: its form may lead on (by the redirect answering it) to PayPal."""
    policy = content_security_policy(settings)
    if "paypal" in co.payments.providers:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {paypal_site(settings)}")
    return policy


def stripe_security_policy(settings: Settings) -> str:
    """The card step's CSP: Stripe.js's origin for its script, frames and calls, here only."""
    js = origin(settings.stripe_js_url)
    api = origin(settings.stripe_api_base)
    frames = f"{js} {STRIPE_HOOKS}" if js == "https://js.stripe.com" else js
    connect = " ".join(dict.fromkeys(["'self'", js, api]))
    policy = content_security_policy(settings)
    policy = policy.replace("script-src 'self'", f"script-src 'self' {js}")
    policy = policy.replace("connect-src 'self'", f"connect-src {connect}")
    return policy.replace("object-src", f"frame-src {frames}; object-src")


def with_notice(path: str, notice: str | None) -> str:
    if not notice:
        return path
    return path + ("&" if "?" in path else "?") + urlencode({"notice": notice})


def pay_path(order_id: UUID, token: str | None) -> str:
    """The order's pay step; a guest order's carries its secret."""
    return f"/orders/{order_id}/pay" + (f"?token={token}" if token else "")
