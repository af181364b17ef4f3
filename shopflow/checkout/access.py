"""Guest orders are reached by a secret, not by their id (which travels to payment
providers, logs and the staff feed).

The secret is an HMAC of the order id under a key of the shop's, so the confirmation mail
sent when the payment arrives can carry it again; the database keeps only its SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from uuid import UUID


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class OrderAccess:
    key: bytes
    public_url: str

    @classmethod
    def from_secret(cls, secret: str, public_url: str) -> OrderAccess:
        """A key of its own, derived from the shop's signing secret."""
        key = hmac.new(secret.encode(), b"shopflow guest order access", hashlib.sha256).digest()
        return cls(key, public_url.rstrip("/"))

    def token(self, order_id: UUID) -> str:
        mac = hmac.new(self.key, order_id.bytes, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def link(self, order_id: UUID) -> str:
        return f"{self.public_url}/api/v1/orders/{order_id}?token={self.token(order_id)}"


def allows(stored: bytes | None, token: str | None) -> bool:
    """Whether `token` is the order's secret; an order without one opens to no token."""
    return stored is not None and token is not None and hmac.compare_digest(stored, digest(token))
